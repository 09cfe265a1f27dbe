export { ROUTER_MEDIA_CODECS } from './media/codecs.js';

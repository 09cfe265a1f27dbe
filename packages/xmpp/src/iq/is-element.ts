// The shape check lives with the element model; re-exported here for the IQ modules.
export { isElement } from '../xml.js';

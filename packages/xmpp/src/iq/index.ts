export { DEFAULT_IQ_TIMEOUT_MS, IqCaller, IqCancelledError, IqTimeoutError, type IqCallerOptions, type IqRequestOptions } from './caller.js';
export { errorReply, IqRouter, MAX_IQ_ID_LENGTH, type IqDisposition, type IqHandler, type IqRequest, type IqRequestType, type IqRouterOptions } from './router.js';
export { buildStanzaError, DEFAULT_ERROR_TYPE, isStanzaErrorCondition, parseErrorStanza, parseStanzaError, stanzaError } from './stanza-error.js';

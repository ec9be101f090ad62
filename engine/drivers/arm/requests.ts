// The ARM requests the step types make while they run, each loading the module that sends it on
// the first call: step modules are loaded by `validate` and `plan` too, which send nothing, and so
// must load no driver module (start-up budget, bench/startup; test/engine/commands/no-drivers.test.ts).
type Client = typeof import('./client.js');
type Lro = typeof import('./lro.js');
type LinkOperation = typeof import('./link-operation.js');
type LinkAction = typeof import('./link-action.js');

/** client.ts sendRaw: one request on the client's pipeline. */
export const sendRaw: Client['sendRaw'] = async (...args) => (await import('./client.js')).sendRaw(...args);
/** client.ts getLinkDetails: GET the link. */
export const getLinkDetails: Client['getLinkDetails'] = async (...args) => (await import('./client.js')).getLinkDetails(...args);
/** client.ts getInstanceDetails: GET the managed instance. */
export const getInstanceDetails: Client['getInstanceDetails'] = async (...args) => (await import('./client.js')).getInstanceDetails(...args);
/** lro.ts followOperation: a long-running operation followed to its end. */
export const followOperation: Lro['followOperation'] = async (...args) => (await import('./lro.js')).followOperation(...args);
/** link-operation.ts waitForLinkOperation: the link polled until no operation is in progress on it. */
export const waitForLinkOperation: LinkOperation['waitForLinkOperation'] = async (...args) => (await import('./link-operation.js')).waitForLinkOperation(...args);
/** link-action.ts postLinkAction: failover, setRole or a mode change, sent once and followed. */
export const postLinkAction: LinkAction['postLinkAction'] = async (...args) => (await import('./link-action.js')).postLinkAction(...args);

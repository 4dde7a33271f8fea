export {
  VendorClient,
  commonErrorMessage,
  defaultClassify,
  type Refusal,
  type OutgoingRequest,
  type VendorClientOptions,
  type VendorRequest,
  type VendorResponse,
} from './client.js';
export { VendorHttpError, ConflictError } from './errors.js';
export { backoffMs, serverWaitMs } from './backoff.js';
export { pollUntil, type PollOptions } from './poll.js';
export { signWebhook, verifyWebhook, WebhookVerifyError } from './webhook.js';
export { credential, httpBase, httpUrl, type CredentialResolver } from './util.js';
export { WebhookAction, webhookBody, webhookConfigSchema, type WebhookConfig } from './webhook-action.js';
export { OwnershipFile } from './ownership.js';
export { CloudflareClient, CLOUDFLARE_API, type CfEnvelope } from './cloudflare.js';
export {
  DeliveryHttp,
  PrivateAddressError,
  deliveryOutcome,
  isPrivateAddress,
  networkOutcome,
  type DeliveryHttpOptions,
  type HttpAnswer,
} from './delivery.js';

// Twilio Messages API (twilio.com/docs/messaging/api/message-resource#create-a-message-resource): POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth (AccountSid:AuthToken or SK…:secret),
// application/x-www-form-urlencoded To (E.164), From or MessagingServiceSid, Body (≤1600). 201 with the message
// resource (status queued); errors are JSON {code, message, more_info, status}: 20003 (401) authentication, 21211
// invalid To, 21602 no Body, 21610 unsubscribed recipient; 20429 comes as HTTP 429 with Retry-After.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const TW_SID = 'AC0123456789abcdef0123456789abcdef';
export const TW_TOKEN = 'fake-auth-token-0123456789abcdef';

const err = (status: number, code: number, message: string, headers: Record<string, string> = {}): Answer =>
  json(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, headers);

export function twilioFake(stopped: Set<string> = new Set()) {
  let n = 0;
  const handle = (r: Recorded): Answer => {
    const auth = `Basic ${Buffer.from(`${TW_SID}:${TW_TOKEN}`).toString('base64')}`;
    if (r.headers.authorization !== auth) return err(401, 20003, 'Authenticate');
    if (!String(r.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
      return err(400, 21602, 'Message body is required');
    const f = new URLSearchParams(r.body);
    const to = f.get('To') ?? '';
    if (!/^\+[1-9]\d{6,14}$/.test(to)) return err(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    if (!f.get('Body')) return err(400, 21602, 'Message body is required.');
    if ((f.get('Body') ?? '').length > 1600)
      return err(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (!f.get('From') && !f.get('MessagingServiceSid'))
      return err(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.");
    if (stopped.has(to)) return err(400, 21610, 'Attempt to send to unsubscribed recipient');
    return json(201, {
      sid: `SM${String(++n).padStart(32, '0')}`,
      account_sid: TW_SID,
      to,
      from: f.get('From'),
      body: f.get('Body'),
      status: 'queued',
    });
  };
  return new FakeServer(
    'twilio',
    handle,
    (r) => r.method === 'POST' && r.path === `/2010-04-01/Accounts/${TW_SID}/Messages.json`,
  );
}

export const twilioTooMany = (seconds: number): Answer =>
  err(429, 20429, 'Too Many Requests', { 'retry-after': String(seconds) });

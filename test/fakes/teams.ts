// Microsoft Teams "Post to a channel when a webhook request is received" (Power Automate Workflows): POST JSON to the
// workflow's invoke URL (its `sig=` query parameter is the credential); the body is a message with Adaptive Card
// attachments (contentType application/vnd.microsoft.card.adaptive); the trigger answers 202 with an empty body and
// runs the flow later. A missing or bad sig is 401; a deleted flow 404.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const TEAMS_PATH = '/powerautomate/automations/direct/workflows/0123abcd/triggers/manual/paths/invoke';
export const TEAMS_QUERY = '?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=FAKESIG';

function handle(r: Recorded): Answer {
  if (r.url.searchParams.get('sig') !== 'FAKESIG')
    return json(401, { error: { code: 'DirectApiAuthorizationRequired', message: 'bad signature' } });
  const b = JSON.parse(r.body) as {
    type?: string;
    attachments?: { contentType?: string; content?: { type?: string; version?: string } }[];
  };
  const card = b.attachments?.[0];
  if (
    b.type !== 'message' ||
    card?.contentType !== 'application/vnd.microsoft.card.adaptive' ||
    card.content?.type !== 'AdaptiveCard'
  )
    return json(400, { error: { code: 'InvalidRequestContent', message: 'not a message with an Adaptive Card' } });
  return { status: 202 };
}

export const teamsFake = () => new FakeServer('teams', handle, (r) => r.path === TEAMS_PATH);

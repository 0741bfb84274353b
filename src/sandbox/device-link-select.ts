/**
 * The select call of the device link on the sandbox
 * (`POST /device/v1/elements/selected`, docs/device-protocol.md §3.8, our own
 * extension): the speaker's player reached a playlist item marked
 * `pay: true` (or the user picked an element). The skill gets
 * `Display.ElementSelected { token }` (SKILL-PROTOCOL §4) through the skill
 * router, exactly as for `POST /sandbox/v1/select`, so the turn is recorded
 * the same way (call log, `call` / `purchase` / `skillError` events); a
 * Charge in the answer opens a purchase owned by the device.
 */
import { InvalidArgumentError, parseSelectElementRequest, type SelectElementReply } from '../protocol/index.js';
import { HttpError } from './errors.js';
import type { Platform } from './platform.js';

/**
 * The signed reply's value for a select request of `deviceId` (already
 * authenticated). A body that does not parse is `InvalidArgumentError`
 * (400); no skill to send it to — none named and none has answered the
 * device yet, or an unknown `skillId` — is 404 `NOT_FOUND`. A refused
 * answer or a failed call is still a reply, with `error`.
 */
export async function selectElement(platform: Platform, deviceId: string, body: unknown): Promise<SelectElementReply> {
  const parsed = parseSelectElementRequest(body);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.detail);
  const { token, mode } = parsed.value;
  const skillId = parsed.value.skillId ?? platform.router.lastSkillOf(deviceId);
  if (skillId === undefined) throw new HttpError(404, 'no skill has answered this device yet: name its skillId', 'NOT_FOUND');
  if (!platform.skill(skillId)) throw new HttpError(404, 'no such skill', 'NOT_FOUND');
  const said = await platform.select({ token, skillId, deviceId, mode });
  const reply: SelectElementReply = {
    token,
    outputSpeech: said.speech,
    directives: said.answer?.directives ?? [],
    shouldEndSession: said.shouldEndSession,
    skillId,
  };
  if (said.purchaseId !== undefined) reply.purchaseId = said.purchaseId;
  if (said.error) reply.error = said.error;
  return reply;
}

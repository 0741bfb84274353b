/**
 * Builders for the four `Display.RenderTemplate` templates DingDang defines
 * (SKILL-PROTOCOL §4), images and audio. Each checks what it can and throws a
 * `SkillResponseError` (missing title → 200501, a URL that is not
 * http(s) → 100501) at the call.
 */
import type {
  Audio,
  HorizontialListTemplate,
  Image,
  ListItem,
  NewsBodyTemplate,
  NewsBodyTemplate1,
  TextBodyTemplate,
  TextContent,
} from '../protocol/browser.js';
import { SKILL_RET_CODES } from '../protocol/browser.js';
import { SkillResponseError } from './errors.js';

/** True for an absolute `http://` or `https://` URL with a host. */
export function isHttpUrl(url: unknown): url is string {
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/i.test(url)) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

/** Throws `SkillResponseError` 100501 unless `url` is http(s). */
export function requireHttpUrl(url: unknown, path: string): string {
  if (!isHttpUrl(url))
    throw new SkillResponseError(SKILL_RET_CODES.INVALID_RESPONSE, path, `URL must be http(s)://…, got ${JSON.stringify(url)?.slice(0, 80)}`);
  return url;
}

export function requireText(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, path, 'a non-empty string is required');
  return value;
}

/** An image `{ contentDescription?, source: { url } }` (http(s) only). */
export function image(url: string, contentDescription?: string, path = 'image'): Image {
  const out: Image = { source: { url: requireHttpUrl(url, `${path}.source.url`) } };
  if (contentDescription !== undefined) out.contentDescription = contentDescription;
  return out;
}

/** Audio `{ source: { url } }` (http(s) only). */
export function audio(url: string, path = 'audio'): Audio {
  return { source: { url: requireHttpUrl(url, `${path}.source.url`) } };
}

/** An image given as a URL or as an `Image`, checked. */
export function imageOf(value: string | Image, path: string): Image {
  if (typeof value === 'string') return image(value, undefined, path);
  if (!value || typeof value !== 'object' || !value.source)
    throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, `${path}.source`, 'an image needs source.url');
  return image(value.source.url, value.contentDescription, path);
}

function audioOf(value: string | Audio, path: string): Audio {
  if (typeof value === 'string') return audio(value, path);
  if (!value || typeof value !== 'object' || !value.source)
    throw new SkillResponseError(SKILL_RET_CODES.MISSING_FIELD, `${path}.source`, 'audio needs source.url');
  return audio(value.source.url, path);
}

export interface TextContentInput {
  title: string;
  description?: string;
}

function textContent(input: TextContentInput, path: string): TextContent {
  const out: TextContent = { title: requireText(input?.title, `${path}.title`) };
  if (input.description !== undefined) out.description = String(input.description);
  return out;
}

export interface NewsBodyInput extends TextContentInput {
  backgroundImage?: string | Image;
  backgroundAudio?: string | Audio;
}

function newsFields(input: NewsBodyInput) {
  const out: { textContent: TextContent; backgroundImage?: Image; backgroundAudio?: Audio } = {
    textContent: textContent(input, 'template.textContent'),
  };
  if (input.backgroundImage !== undefined) out.backgroundImage = imageOf(input.backgroundImage, 'template.backgroundImage');
  if (input.backgroundAudio !== undefined) out.backgroundAudio = audioOf(input.backgroundAudio, 'template.backgroundAudio');
  return out;
}

/** `NewsBodyTemplate`: about three lines of text (≈ 54 characters), optional background image and audio. */
export function newsBody(input: NewsBodyInput): NewsBodyTemplate {
  return { type: 'NewsBodyTemplate', ...newsFields(input) };
}

/** `NewsBodyTemplate1`: two lines of text, same fields. */
export function newsBody1(input: NewsBodyInput): NewsBodyTemplate1 {
  return { type: 'NewsBodyTemplate1', ...newsFields(input) };
}

/** `TextBodyTemplate`: text only. */
export function textBody(input: TextContentInput): TextBodyTemplate {
  return { type: 'TextBodyTemplate', textContent: textContent(input, 'template.textContent') };
}

export interface ListItemInput extends TextContentInput {
  /** Sent back in `Display.ElementSelected` when the user picks the item. */
  token: string;
  image?: string | Image;
}

/** `HorizontialListTemplate` (spelled so on the wire): a row of selectable items. */
export function horizontialList(items: ListItemInput[]): HorizontialListTemplate {
  if (!Array.isArray(items) || items.length === 0)
    throw new SkillResponseError(SKILL_RET_CODES.INVALID_RESPONSE, 'template.listItems', 'a list needs at least one item');
  const listItems = items.map((item, i): ListItem => {
    const path = `template.listItems[${i}]`;
    const out: ListItem = { token: requireText(item?.token, `${path}.token`), textContent: textContent(item, `${path}.textContent`) };
    if (item.image !== undefined) out.image = imageOf(item.image, `${path}.image`);
    return out;
  });
  return { type: 'HorizontialListTemplate', listItems };
}

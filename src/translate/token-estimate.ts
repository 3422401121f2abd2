/**
 * An honest estimate of the input tokens of a Responses body, for `POST /v1/messages/count_tokens`
 * and `message_start`. The Codex backend has no token-counting endpoint and its tokenizer is not
 * public, so this counts about 4 characters per token over every text the model reads
 * (instructions, messages, tool calls and results, tool definitions), 1,600 tokens per image and
 * 1,500 per PDF page (pages counted in the file), as Anthropic documents for its own models. Expect
 * it to be within roughly ±20% for English text and code; the exact count arrives with the response
 * (`usage`).
 */

export const CHARS_PER_TOKEN = 4;
export const TOKENS_PER_IMAGE = 1600;
export const TOKENS_PER_PDF_PAGE = 1500;

type Rec = Record<string, unknown>;

export function estimateInputTokens(body: Readonly<Rec>): number {
  const counter = { chars: 0, tokens: 0 };
  walk(body['input'], counter);
  if (typeof body['instructions'] === 'string') counter.chars += body['instructions'].length;
  if (Array.isArray(body['tools'])) counter.chars += JSON.stringify(body['tools']).length;
  return counter.tokens + Math.ceil(counter.chars / CHARS_PER_TOKEN);
}

function walk(value: unknown, counter: { chars: number; tokens: number }): void {
  if (typeof value === 'string') {
    counter.chars += value.length;
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) walk(v, counter);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const item = value as Rec;
  switch (item['type']) {
    case 'input_image':
      counter.tokens += TOKENS_PER_IMAGE;
      return;
    case 'input_file':
      counter.tokens += TOKENS_PER_PDF_PAGE * pdfPages(item['file_data']);
      return;
    case 'reasoning':
      return; // encrypted, replayed by the backend at its own cost
    default:
      for (const key of ['text', 'content', 'arguments', 'output', 'name']) walk(item[key], counter);
  }
}

/** Pages of a base64 PDF data URL (`/Type /Page` objects), at least 1. */
export function pdfPages(fileData: unknown): number {
  if (typeof fileData !== 'string') return 1;
  const comma = fileData.indexOf(',');
  const pdf = Buffer.from(comma >= 0 ? fileData.slice(comma + 1) : fileData, 'base64').toString('latin1');
  const pages = pdf.match(/\/Type\s*\/Page(?!s)\b/g)?.length ?? 0;
  return Math.max(1, pages);
}

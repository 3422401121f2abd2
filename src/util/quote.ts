/**
 * Client input quoted in an error message: at most MAX_QUOTED_CHARS characters (a 10 MB model
 * name must not come back as a 10 MB 404), in double quotes, control characters escaped.
 */
export const MAX_QUOTED_CHARS = 200;

export function quoteInput(value: string, max = MAX_QUOTED_CHARS): string {
  const chars = Array.from(value.length > max * 2 ? value.slice(0, max * 2) : value);
  const cut = chars.length > max || value.length > max * 2;
  const shown = chars.slice(0, max).join('');
  const escaped = JSON.stringify(shown).slice(1, -1);
  return cut ? `'${escaped}…' (${value.length} characters)` : `'${escaped}'`;
}

/** The first `max` characters of client input (for a `param` or a list), with an ellipsis when cut. */
export function clip(value: string, max = MAX_QUOTED_CHARS): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/**
 * Text from the upstream shown to a client (an error's detail): the upstream may echo the
 * client's own input ("The '<model>' model is not supported …"), so a quoted run longer than
 * MAX_QUOTED_CHARS is cut to that, and the whole text to 1000 characters.
 */
export function boundEchoedText(text: string): string {
  // a quoted run, closed or cut off by a truncated body, longer than MAX_QUOTED_CHARS
  const cut = text.replace(new RegExp(`(['"])([^'"]{${MAX_QUOTED_CHARS}})[^'"]+`, 'g'), '$1$2…');
  return clip(cut, 1000);
}

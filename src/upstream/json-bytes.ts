/** The JSON structure's bytes, for the readers that work on an event's bytes (text-delta-bytes, json-member-bytes). */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const COLON = 0x3a;
export const COMMA = 0x2c;
/** 1 for JSON's whitespace: space, tab, LF, CR. */
export const WS = new Uint8Array(256).map((_, c) => (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d ? 1 : 0));

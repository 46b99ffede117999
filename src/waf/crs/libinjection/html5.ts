/**
 * A TypeScript port, by hand, of libinjection's HTML5 tokenizer (src/libinjection_html5.c,
 * https://github.com/libinjection/libinjection at commit 85e252a), used by the XSS detector. The
 * states are functions, as in C, with the C names in comments.
 *
 * Copyright (c) 2012-2016, Nick Galbreath
 * Copyright 2021 LibInjection
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are
 * met:
 *
 * 1. Redistributions of source code must retain the above copyright
 * notice, this list of conditions and the following disclaimer.
 *
 * 2. Redistributions in binary form must reproduce the above copyright
 * notice, this list of conditions and the following disclaimer in the
 * documentation and/or other materials provided with the distribution.
 *
 * 3. Neither the name of the copyright holder nor the names of its
 * contributors may be used to endorse or promote products derived from
 * this software without specific prior written permission.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
 * "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
 * LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
 * A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
 * HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
 * SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
 * LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
 * DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
 * THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
 * (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
 * OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
 *
 * Porting notes:
 * - The input is bytes. h5_skip_white returns a signed C char, so a 0xFF byte where it looks equals
 *   CHAR_EOF (-1) and ends the tokenizing, as in C; this port keeps that.
 * - h5_is_white uses strchr, which finds the terminating NUL: byte 0 is white there.
 * - Every state consumes at least one byte or ends, so tokenizing is linear in the input.
 */

import { memchr } from './bytes.js';

/** enum html5_type */
export const H5Type = {
  DATA_TEXT: 0,
  TAG_NAME_OPEN: 1,
  TAG_NAME_CLOSE: 2,
  TAG_NAME_SELFCLOSE: 3,
  TAG_DATA: 4,
  TAG_CLOSE: 5,
  ATTR_NAME: 6,
  ATTR_VALUE: 7,
  TAG_COMMENT: 8,
  DOCTYPE: 9,
} as const;
export type H5Type = (typeof H5Type)[keyof typeof H5Type];

/** The names the C test driver prints, by H5Type. */
export const H5_TYPE_NAMES = [
  'DATA_TEXT',
  'TAG_NAME_OPEN',
  'TAG_NAME_CLOSE',
  'TAG_NAME_SELFCLOSE',
  'TAG_DATA',
  'TAG_CLOSE',
  'ATTR_NAME',
  'ATTR_VALUE',
  'TAG_COMMENT',
  'DOCTYPE',
] as const;

/** enum html5_flags: the state the tokenizer starts in. */
export const H5Flags = {
  DATA_STATE: 0,
  VALUE_NO_QUOTE: 1,
  VALUE_SINGLE_QUOTE: 2,
  VALUE_DOUBLE_QUOTE: 3,
  VALUE_BACK_QUOTE: 4,
} as const;
export type H5Flags = (typeof H5Flags)[keyof typeof H5Flags];

const CHAR_EOF = -1;
const CHAR_NULL = 0;
const CHAR_BANG = 33;
const CHAR_DOUBLE = 34;
const CHAR_PERCENT = 37;
const CHAR_SINGLE = 39;
const CHAR_DASH = 45;
const CHAR_SLASH = 47;
const CHAR_LT = 60;
const CHAR_EQUALS = 61;
const CHAR_GT = 62;
const CHAR_QUESTION = 63;
const CHAR_RIGHTB = 93;
const CHAR_TICK = 96;

type State = (hs: H5State) => boolean;

/** h5_state_t */
export class H5State {
  readonly s: Uint8Array;
  readonly len: number;
  pos = 0;
  isClose = false;
  state: State;
  /** index of the token in s */
  tokenStart = 0;
  tokenLen = 0;
  tokenType: H5Type = H5Type.DATA_TEXT;

  /** libinjection_h5_init */
  constructor(s: Uint8Array, flags: H5Flags) {
    this.s = s;
    this.len = s.length;
    switch (flags) {
      case H5Flags.DATA_STATE:
        this.state = stateData;
        break;
      case H5Flags.VALUE_NO_QUOTE:
        this.state = stateBeforeAttributeName;
        break;
      case H5Flags.VALUE_SINGLE_QUOTE:
        this.state = stateAttributeValueSingleQuote;
        break;
      case H5Flags.VALUE_DOUBLE_QUOTE:
        this.state = stateAttributeValueDoubleQuote;
        break;
      default:
        this.state = stateAttributeValueBackQuote;
        break;
    }
  }

  /** libinjection_h5_next: true when a token was read */
  next(): boolean {
    return this.state(this);
  }
}

const isAlpha = (ch: number): boolean => (ch >= 97 && ch <= 122) || (ch >= 65 && ch <= 90);

/** h5_is_white: " \t\n\v\f\r" and, through strchr, NUL */
function isWhite(ch: number): boolean {
  return ch === 32 || (ch >= 9 && ch <= 13) || ch === 0;
}

/** h5_skip_white: the next non-white byte as a signed C char, or CHAR_EOF */
function skipWhite(hs: H5State): number {
  while (hs.pos < hs.len) {
    const ch = hs.s[hs.pos]!;
    switch (ch) {
      case 0x00: // IE only
      case 0x20:
      case 0x09:
      case 0x0a:
      case 0x0b: // IE only
      case 0x0c:
      case 0x0d: // IE only
        hs.pos += 1;
        break;
      default:
        return ch >= 0x80 ? ch - 256 : ch;
    }
  }
  return CHAR_EOF;
}

function stateEof(_hs: H5State): boolean {
  return false;
}

function stateData(hs: H5State): boolean {
  const idx = memchr(hs.s, CHAR_LT, hs.pos);
  if (idx === -1) {
    hs.tokenStart = hs.pos;
    hs.tokenLen = hs.len - hs.pos;
    hs.tokenType = H5Type.DATA_TEXT;
    hs.state = stateEof;
    if (hs.tokenLen === 0) return false;
  } else {
    hs.tokenStart = hs.pos;
    hs.tokenType = H5Type.DATA_TEXT;
    hs.tokenLen = idx - hs.pos;
    hs.pos = idx + 1;
    hs.state = stateTagOpen;
    if (hs.tokenLen === 0) return stateTagOpen(hs);
  }
  return true;
}

/** 12 2.4.8 */
function stateTagOpen(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  const ch = hs.s[hs.pos]!;
  if (ch === CHAR_BANG) {
    hs.pos += 1;
    return stateMarkupDeclarationOpen(hs);
  } else if (ch === CHAR_SLASH) {
    hs.pos += 1;
    hs.isClose = true;
    return stateEndTagOpen(hs);
  } else if (ch === CHAR_QUESTION) {
    hs.pos += 1;
    return stateBogusComment(hs);
  } else if (ch === CHAR_PERCENT) {
    // not in spec: alternative comment format used by IE <= 9 and Safari < 4.0.3
    hs.pos += 1;
    return stateBogusComment2(hs);
  } else if (isAlpha(ch)) {
    return stateTagName(hs);
  } else if (ch === CHAR_NULL) {
    // IE-ism: NULL characters are ignored
    return stateTagName(hs);
  }
  // user input mistake in configuring state
  if (hs.pos === 0) return stateData(hs);
  hs.tokenStart = hs.pos - 1;
  hs.tokenLen = 1;
  hs.tokenType = H5Type.DATA_TEXT;
  hs.state = stateData;
  return true;
}

/** 12.2.4.9 */
function stateEndTagOpen(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  const ch = hs.s[hs.pos]!;
  if (ch === CHAR_GT) {
    return stateData(hs);
  } else if (isAlpha(ch)) {
    return stateTagName(hs);
  }
  hs.isClose = false;
  return stateBogusComment(hs);
}

function stateTagNameClose(hs: H5State): boolean {
  hs.isClose = false;
  hs.tokenStart = hs.pos;
  hs.tokenLen = 1;
  hs.tokenType = H5Type.TAG_NAME_CLOSE;
  hs.pos += 1;
  hs.state = hs.pos < hs.len ? stateData : stateEof;
  return true;
}

/** 12.2.4.10 */
function stateTagName(hs: H5State): boolean {
  let pos = hs.pos;
  while (pos < hs.len) {
    const ch = hs.s[pos]!;
    if (ch === 0) {
      // non-standard: allow (and ignore) nulls in a tag name
      pos += 1;
    } else if (isWhite(ch)) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.tokenType = H5Type.TAG_NAME_OPEN;
      hs.pos = pos + 1;
      hs.state = stateBeforeAttributeName;
      return true;
    } else if (ch === CHAR_SLASH) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.tokenType = H5Type.TAG_NAME_OPEN;
      hs.pos = pos + 1;
      hs.state = stateSelfClosingStartTag;
      return true;
    } else if (ch === CHAR_GT) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      if (hs.isClose) {
        hs.pos = pos + 1;
        hs.isClose = false;
        hs.tokenType = H5Type.TAG_CLOSE;
        hs.state = stateData;
      } else {
        hs.pos = pos;
        hs.tokenType = H5Type.TAG_NAME_OPEN;
        hs.state = stateTagNameClose;
      }
      return true;
    } else {
      pos += 1;
    }
  }
  hs.tokenStart = hs.pos;
  hs.tokenLen = hs.len - hs.pos;
  hs.tokenType = H5Type.TAG_NAME_OPEN;
  hs.state = stateEof;
  return true;
}

/** 12.2.4.34 (with self_closing_start_tag partly inlined as a loop, as in C) */
function stateBeforeAttributeName(hs: H5State): boolean {
  for (;;) {
    const ch = skipWhite(hs);
    switch (ch) {
      case CHAR_EOF:
        return false;
      case CHAR_SLASH:
        hs.pos += 1;
        if (hs.pos < hs.len && hs.s[hs.pos] !== CHAR_GT) continue;
        return stateSelfClosingStartTag(hs);
      case CHAR_GT:
        hs.state = stateData;
        hs.tokenStart = hs.pos;
        hs.tokenLen = 1;
        hs.tokenType = H5Type.TAG_NAME_CLOSE;
        hs.pos += 1;
        return true;
      default:
        return stateAttributeName(hs);
    }
  }
}

function stateAttributeName(hs: H5State): boolean {
  let pos = hs.pos + 1;
  while (pos < hs.len) {
    const ch = hs.s[pos]!;
    if (isWhite(ch)) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.tokenType = H5Type.ATTR_NAME;
      hs.state = stateAfterAttributeName;
      hs.pos = pos + 1;
      return true;
    } else if (ch === CHAR_SLASH) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.tokenType = H5Type.ATTR_NAME;
      hs.state = stateSelfClosingStartTag;
      hs.pos = pos + 1;
      return true;
    } else if (ch === CHAR_EQUALS) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.tokenType = H5Type.ATTR_NAME;
      hs.state = stateBeforeAttributeValue;
      hs.pos = pos + 1;
      return true;
    } else if (ch === CHAR_GT) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.tokenType = H5Type.ATTR_NAME;
      hs.state = stateTagNameClose;
      hs.pos = pos;
      return true;
    } else {
      pos += 1;
    }
  }
  // EOF
  hs.tokenStart = hs.pos;
  hs.tokenLen = hs.len - hs.pos;
  hs.tokenType = H5Type.ATTR_NAME;
  hs.state = stateEof;
  hs.pos = hs.len;
  return true;
}

/** 12.2.4.36 */
function stateAfterAttributeName(hs: H5State): boolean {
  const c = skipWhite(hs);
  switch (c) {
    case CHAR_EOF:
      return false;
    case CHAR_SLASH:
      hs.pos += 1;
      return stateSelfClosingStartTag(hs);
    case CHAR_EQUALS:
      hs.pos += 1;
      return stateBeforeAttributeValue(hs);
    case CHAR_GT:
      return stateTagNameClose(hs);
    default:
      return stateAttributeName(hs);
  }
}

/** 12.2.4.37 */
function stateBeforeAttributeValue(hs: H5State): boolean {
  const c = skipWhite(hs);
  if (c === CHAR_EOF) {
    hs.state = stateEof;
    return false;
  }
  if (c === CHAR_DOUBLE) return stateAttributeValueDoubleQuote(hs);
  if (c === CHAR_SINGLE) return stateAttributeValueSingleQuote(hs);
  if (c === CHAR_TICK) return stateAttributeValueBackQuote(hs); // non-standard IE
  return stateAttributeValueNoQuote(hs);
}

function stateAttributeValueQuote(hs: H5State, qchar: number): boolean {
  // skip the initial quote, except when the tokenizer started in this state at 0
  if (hs.pos > 0) hs.pos += 1;
  const idx = memchr(hs.s, qchar, hs.pos);
  if (idx === -1) {
    hs.tokenStart = hs.pos;
    hs.tokenLen = hs.len - hs.pos;
    hs.tokenType = H5Type.ATTR_VALUE;
    hs.state = stateEof;
  } else {
    hs.tokenStart = hs.pos;
    hs.tokenLen = idx - hs.pos;
    hs.tokenType = H5Type.ATTR_VALUE;
    hs.state = stateAfterAttributeValueQuotedState;
    hs.pos += hs.tokenLen + 1;
  }
  return true;
}

function stateAttributeValueDoubleQuote(hs: H5State): boolean {
  return stateAttributeValueQuote(hs, CHAR_DOUBLE);
}

function stateAttributeValueSingleQuote(hs: H5State): boolean {
  return stateAttributeValueQuote(hs, CHAR_SINGLE);
}

function stateAttributeValueBackQuote(hs: H5State): boolean {
  return stateAttributeValueQuote(hs, CHAR_TICK);
}

function stateAttributeValueNoQuote(hs: H5State): boolean {
  let pos = hs.pos;
  while (pos < hs.len) {
    const ch = hs.s[pos]!;
    if (isWhite(ch)) {
      hs.tokenType = H5Type.ATTR_VALUE;
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.pos = pos + 1;
      hs.state = stateBeforeAttributeName;
      return true;
    } else if (ch === CHAR_GT) {
      hs.tokenType = H5Type.ATTR_VALUE;
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      hs.pos = pos;
      hs.state = stateTagNameClose;
      return true;
    }
    pos += 1;
  }
  // EOF
  hs.state = stateEof;
  hs.tokenStart = hs.pos;
  hs.tokenLen = hs.len - hs.pos;
  hs.tokenType = H5Type.ATTR_VALUE;
  return true;
}

/** 12.2.4.41 */
function stateAfterAttributeValueQuotedState(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  const ch = hs.s[hs.pos]!;
  if (isWhite(ch)) {
    hs.pos += 1;
    return stateBeforeAttributeName(hs);
  } else if (ch === CHAR_SLASH) {
    hs.pos += 1;
    return stateSelfClosingStartTag(hs);
  } else if (ch === CHAR_GT) {
    hs.tokenStart = hs.pos;
    hs.tokenLen = 1;
    hs.tokenType = H5Type.TAG_NAME_CLOSE;
    hs.pos += 1;
    hs.state = stateData;
    return true;
  }
  return stateBeforeAttributeName(hs);
}

/** 12.2.4.43 */
function stateSelfClosingStartTag(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  const ch = hs.s[hs.pos]!;
  if (ch === CHAR_GT) {
    hs.tokenStart = hs.pos - 1;
    hs.tokenLen = 2;
    hs.tokenType = H5Type.TAG_NAME_SELFCLOSE;
    hs.state = stateData;
    hs.pos += 1;
    return true;
  }
  return stateBeforeAttributeName(hs);
}

/** 12.2.4.44 */
function stateBogusComment(hs: H5State): boolean {
  const idx = memchr(hs.s, CHAR_GT, hs.pos);
  if (idx === -1) {
    hs.tokenStart = hs.pos;
    hs.tokenLen = hs.len - hs.pos;
    hs.pos = hs.len;
    hs.state = stateEof;
  } else {
    hs.tokenStart = hs.pos;
    hs.tokenLen = idx - hs.pos;
    hs.pos = idx + 1;
    hs.state = stateData;
  }
  hs.tokenType = H5Type.TAG_COMMENT;
  return true;
}

/** 12.2.4.44 ALT: <% ... %> */
function stateBogusComment2(hs: H5State): boolean {
  let pos = hs.pos;
  for (;;) {
    const idx = memchr(hs.s, CHAR_PERCENT, pos);
    if (idx === -1 || idx + 1 >= hs.len) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = hs.len - hs.pos;
      hs.pos = hs.len;
      hs.tokenType = H5Type.TAG_COMMENT;
      hs.state = stateEof;
      return true;
    }
    if (hs.s[idx + 1] !== CHAR_GT) {
      pos = idx + 1;
      continue;
    }
    // ends in %>
    hs.tokenStart = hs.pos;
    hs.tokenLen = idx - hs.pos;
    hs.pos = idx + 2;
    hs.state = stateData;
    hs.tokenType = H5Type.TAG_COMMENT;
    return true;
  }
}

const lower = (b: number | undefined): number => (b !== undefined && b >= 65 && b <= 90 ? b + 32 : (b ?? -1));

/** 8.2.4.45 */
function stateMarkupDeclarationOpen(hs: H5State): boolean {
  const { s, pos } = hs;
  const remaining = hs.len - pos;
  if (remaining >= 7 && [...'doctype'].every((c, i) => lower(s[pos + i]) === c.charCodeAt(0))) {
    return stateDoctype(hs);
  } else if (remaining >= 7 && [...'[CDATA['].every((c, i) => s[pos + i] === c.charCodeAt(0))) {
    hs.pos += 7;
    return stateCdata(hs);
  } else if (remaining >= 2 && s[pos] === CHAR_DASH && s[pos + 1] === CHAR_DASH) {
    hs.pos += 2;
    return stateComment(hs);
  }
  return stateBogusComment(hs);
}

function commentToEof(hs: H5State): boolean {
  hs.state = stateEof;
  hs.tokenStart = hs.pos;
  hs.tokenLen = hs.len - hs.pos;
  hs.tokenType = H5Type.TAG_COMMENT;
  return true;
}

/** 12.2.4.48 to 12.2.4.51: a comment ends at EOF, "-->" or "-!>" (NULs after the first '-' skipped) */
function stateComment(hs: H5State): boolean {
  const end = hs.len;
  let pos = hs.pos;
  for (;;) {
    const idx = memchr(hs.s, CHAR_DASH, pos);
    // did not find anything or has less than 3 chars left
    if (idx === -1 || idx > hs.len - 3) return commentToEof(hs);
    let offset = 1;
    // skip all nulls
    while (idx + offset < end && hs.s[idx + offset] === 0) offset += 1;
    if (idx + offset === end) return commentToEof(hs);
    let ch = hs.s[idx + offset]!;
    if (ch !== CHAR_DASH && ch !== CHAR_BANG) {
      pos = idx + 1;
      continue;
    }
    offset += 1;
    if (idx + offset === end) return commentToEof(hs);
    ch = hs.s[idx + offset]!;
    if (ch !== CHAR_GT) {
      pos = idx + 1;
      continue;
    }
    offset += 1;
    // ends in --> or -!>
    hs.tokenStart = hs.pos;
    hs.tokenLen = idx - hs.pos;
    hs.pos = idx + offset;
    hs.state = stateData;
    hs.tokenType = H5Type.TAG_COMMENT;
    return true;
  }
}

function stateCdata(hs: H5State): boolean {
  let pos = hs.pos;
  for (;;) {
    const idx = memchr(hs.s, CHAR_RIGHTB, pos);
    // did not find anything or has less than 3 chars left
    if (idx === -1 || idx > hs.len - 3) {
      hs.state = stateEof;
      hs.tokenStart = hs.pos;
      hs.tokenLen = hs.len - hs.pos;
      hs.tokenType = H5Type.DATA_TEXT;
      return true;
    } else if (hs.s[idx + 1] === CHAR_RIGHTB && hs.s[idx + 2] === CHAR_GT) {
      hs.state = stateData;
      hs.tokenStart = hs.pos;
      hs.tokenLen = idx - hs.pos;
      hs.pos = idx + 3;
      hs.tokenType = H5Type.DATA_TEXT;
      return true;
    }
    pos = idx + 1;
  }
}

/** 8.2.4.52 */
function stateDoctype(hs: H5State): boolean {
  hs.tokenStart = hs.pos;
  hs.tokenType = H5Type.DOCTYPE;
  const idx = memchr(hs.s, CHAR_GT, hs.pos);
  if (idx === -1) {
    hs.state = stateEof;
    hs.tokenLen = hs.len - hs.pos;
  } else {
    hs.state = stateData;
    hs.tokenLen = idx - hs.pos;
    hs.pos = idx + 1;
  }
  return true;
}

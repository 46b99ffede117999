/**
 * A TypeScript port, by hand, of libinjection's XSS detector (src/libinjection_xss.c,
 * https://github.com/libinjection/libinjection at commit 85e252a), with the C names in comments.
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
 * - The input is bytes. libinjection reads a few bytes past a token: is_black_attr compares the
 *   event names ("on" + name) over strlen(name) bytes whatever the token's length, and
 *   html_decode_char_at looks at "&#x" before checking the length. Those reads go on into the rest
 *   of the input, as in C; past the end of the input they read 0, the NUL that ends ModSecurity's
 *   std::string (cstrcasecmp_with_null then never matches: the NUL shortens the compared text).
 * - `(char)cb` in htmlencode_startswith keeps the low byte of a decoded entity, as C does
 *   ("&#x141;" compares as 'A').
 */
import { memchr } from './bytes.js';
import { H5Flags, H5State, H5Type } from './html5.js';

const TYPE_NONE = 0;
const TYPE_BLACK = 1; // ban always
const TYPE_ATTR_URL = 2; // attribute value takes a URL-like object
const TYPE_STYLE = 3;
const TYPE_ATTR_INDIRECT = 4; // attribute *name* is given in *value*
type Attribute = 0 | 1 | 2 | 3 | 4;

/** BLACKATTREVENT: after "on"; all TYPE_BLACK (mostly from WebKit's EventNames.h) */
const BLACK_ATTR_EVENTS: readonly string[] =
  'ABORT ACTIVATE ACTIVE ADDSOURCEBUFFER ADDSTREAM ADDTRACK AFTERPRINT ANIMATIONCANCEL ANIMATIONEND ANIMATIONITERATION ANIMATIONSTART AUDIOEND AUDIOPROCESS AUDIOSTART AUTOCOMPLETEERROR AUTOCOMPLETE BEFOREACTIVATE BEFORECOPY BEFORECUT BEFOREINPUT BEFORELOAD BEFOREPASTE BEFOREPRINT BEFOREUNLOAD BEGINEVENT BLOCKED BLUR BOUNDARY BUFFEREDAMOUNTLOW CACHED CANCEL CANPLAYTHROUGH CANPLAY CHANGE CHARGINGCHANGE CHARGINGTIMECHANGE CHECKING CLICK CLOSE COMPLETE COMPOSITIONEND COMPOSITIONSTART COMPOSITIONUPDATE CONNECTING CONNECTIONSTATECHANGE CONNECT CONTEXTMENU CONTROLLERCHANGE COPY CUECHANGE CUT DATAAVAILABLE DATACHANNEL DBLCLICK DEVICECHANGE DEVICEMOTION DEVICEORIENTATION DISCHARGINGTIMECHANGE DISCONNECT DOMACTIVATE DOMCHARACTERDATAMODIFIED DOMCONTENTLOADED DOMFOCUSIN DOMFOCUSOUT DOMNODEINSERTEDINTODOCUMENT DOMNODEINSERTED DOMNODEREMOVEDFROMDOCUMENT DOMNODEREMOVED DOMSUBTREEMODIFIED DOWNLOADING DRAGEND DRAGENTER DRAGLEAVE DRAGOVER DRAGSTART DRAG DROP DURATIONCHANGE EMPTIED ENCRYPTED ENDED ENDEVENT END ENTERPICTUREINPICTURE ENTER ERROR EXIT FETCH FINISH FOCUSIN FOCUSOUT FOCUS FORMCHANGE FORMINPUT GAMEPADCONNECTED GAMEPADDISCONNECTED GESTURECHANGE GESTUREEND GESTURESCROLLEND GESTURESCROLLSTART GESTURESCROLLUPDATE GESTURESTART GESTURETAPDOWN GESTURETAP GOTPOINTERCAPTURE HASHCHANGE ICECANDIDATEERROR ICECANDIDATE ICECONNECTIONSTATECHANGE ICEGATHERINGSTATECHANGE INACTIVE INPUTSOURCESCHANGE INPUT INSTALL INVALID KEYDOWN KEYPRESS KEYSTATUSESCHANGE KEYUP LANGUAGECHANGE LEAVEPICTUREINPICTURE LEVELCHANGE LOADEDDATA LOADEDMETADATA LOADEND LOADINGDONE LOADINGERROR LOADING LOADSTART LOAD LOSTPOINTERCAPTURE MARK MERCHANTVALIDATION MESSAGEERROR MESSAGE MOUSEDOWN MOUSEENTER MOUSELEAVE MOUSEMOVE MOUSEOUT MOUSEOVER MOUSEUP MOUSEWHEEL MUTE NEGOTIATIONNEEDED NEXTTRACK NOMATCH NOUPDATE OBSOLETE OFFLINE ONLINE OPEN ORIENTATIONCHANGE OVERCONSTRAINED OVERFLOWCHANGED PAGEHIDE PAGESHOW PASTE PAUSE PAYERDETAILCHANGE PAYMENTAUTHORIZED PAYMENTMETHODCHANGE PAYMENTMETHODSELECTED PLAYING PLAY POINTERCANCEL POINTERDOWN POINTERENTER POINTERLEAVE POINTERLOCKCHANGE POINTERLOCKERROR POINTERMOVE POINTEROUT POINTEROVER POINTERUP POPSTATE PREVIOUSTRACK PROCESSORERROR PROGRESS PROPERTYCHANGE RATECHANGE READYSTATECHANGE REJECTIONHANDLED REMOVESOURCEBUFFER REMOVESTREAM REMOVETRACK REMOVE RESET RESIZE RESOURCETIMINGBUFFERFULL RESULT RESUME SCROLL SEARCH SECURITYPOLICYVIOLATION SEEKED SEEKING SELECTEND SELECTIONCHANGE SELECTSTART SELECT SHIPPINGADDRESSCHANGE SHIPPINGCONTACTSELECTED SHIPPINGMETHODSELECTED SHIPPINGOPTIONCHANGE SHOW SIGNALINGSTATECHANGE SLOTCHANGE SOUNDEND SOUNDSTART SOURCECLOSE SOURCEENDED SOURCEOPEN SPEECHEND SPEECHSTART SQUEEZEEND SQUEEZESTART SQUEEZE STALLED STARTED START STATECHANGE STOP STORAGE SUBMIT SUCCESS SUSPEND TEXTINPUT TIMEOUT TIMEUPDATE TOGGLE TOGGLE TONECHANGE TOUCHCANCEL TOUCHEND TOUCHFORCECHANGE TOUCHMOVE TOUCHSTART TRACK TRANSITIONCANCEL TRANSITIONEND TRANSITIONRUN TRANSITIONSTART UNCAPTUREDERROR UNHANDLEDREJECTION UNLOAD UNMUTE UPDATEEND UPDATEFOUND UPDATEREADY UPDATESTART UPDATE UPGRADENEEDED VALIDATEMERCHANT VERSIONCHANGE VISIBILITYCHANGE VOLUMECHANGE WAITINGFORKEY WAITING WEBGLCONTEXTCHANGED WEBGLCONTEXTCREATIONERROR WEBGLCONTEXTLOST WEBGLCONTEXTRESTORED WEBKITANIMATIONEND WEBKITANIMATIONITERATION WEBKITANIMATIONSTART WEBKITBEFORETEXTINSERTED WEBKITBEGINFULLSCREEN WEBKITCURRENTPLAYBACKTARGETISWIRELESSCHANGED WEBKITENDFULLSCREEN WEBKITFULLSCREENCHANGE WEBKITFULLSCREENERROR WEBKITKEYADDED WEBKITKEYERROR WEBKITKEYMESSAGE WEBKITMOUSEFORCECHANGED WEBKITMOUSEFORCEDOWN WEBKITMOUSEFORCEUP WEBKITMOUSEFORCEWILLBEGIN WEBKITNEEDKEY WEBKITNETWORKINFOCHANGE WEBKITPLAYBACKTARGETAVAILABILITYCHANGED WEBKITPRESENTATIONMODECHANGED WEBKITREGIONOVERSETCHANGE WEBKITREMOVESOURCEBUFFER WEBKITSOURCECLOSE WEBKITSOURCEENDED WEBKITSOURCEOPEN WEBKITSPEECHCHANGE WEBKITTRANSITIONEND WEBKITWILLREVEALBOTTOM WEBKITWILLREVEALLEFT WEBKITWILLREVEALRIGHT WEBKITWILLREVEALTOP WHEEL WRITEEND WRITESTART WRITE ZOOM'.split(
    ' ',
  );

/** BLACKATTR */
const BLACK_ATTRS: readonly (readonly [string, Attribute])[] = [
  ['ACTION', TYPE_ATTR_URL], // form
  ['ATTRIBUTENAME', TYPE_ATTR_INDIRECT], // SVG allow indirection of attribute names
  ['BY', TYPE_ATTR_URL], // SVG
  ['BACKGROUND', TYPE_ATTR_URL], // IE6, O11
  ['DATAFORMATAS', TYPE_BLACK], // IE
  ['DATASRC', TYPE_BLACK], // IE
  ['DYNSRC', TYPE_ATTR_URL], // Obsolete img attribute
  ['FILTER', TYPE_STYLE], // Opera, SVG inline style
  ['FORMACTION', TYPE_ATTR_URL], // HTML 5
  ['FOLDER', TYPE_ATTR_URL], // Only on A tags, IE-only
  ['FROM', TYPE_ATTR_URL], // SVG
  ['HANDLER', TYPE_ATTR_URL], // SVG Tiny, Opera
  ['HREF', TYPE_ATTR_URL],
  ['LOWSRC', TYPE_ATTR_URL], // Obsolete img attribute
  ['POSTER', TYPE_ATTR_URL], // Opera 10,11
  ['SRC', TYPE_ATTR_URL],
  ['STYLE', TYPE_STYLE],
  ['TO', TYPE_ATTR_URL], // SVG
  ['VALUES', TYPE_ATTR_URL], // SVG
  ['XLINK:HREF', TYPE_ATTR_URL],
];

/** BLACKTAG */
const BLACK_TAGS: readonly string[] = [
  'APPLET',
  'BASE',
  'COMMENT', // IE http://html5sec.org/#38
  'EMBED',
  'FRAME',
  'FRAMESET',
  'HANDLER', // Opera SVG, effectively a script tag
  'IFRAME',
  'IMPORT',
  'ISINDEX',
  'LINK',
  'LISTENER',
  'META',
  'NOSCRIPT',
  'OBJECT',
  'SCRIPT',
  'STYLE',
  'VMLFRAME',
  'XML',
  'XSS',
];

/** `names` grouped by their first letter's code, so a token is compared only with names it may equal. */
function byFirstLetter<T extends { readonly name: string }>(names: readonly T[]): readonly (readonly T[])[] {
  const groups: T[][] = Array.from({ length: 128 }, () => []);
  for (const n of names) groups[n.name.charCodeAt(0)]!.push(n);
  return groups;
}

const EVENTS_BY_LETTER = byFirstLetter(BLACK_ATTR_EVENTS.map((name) => ({ name })));
const ATTRS_BY_LETTER = byFirstLetter(BLACK_ATTRS.map(([name, type]) => ({ name, type })));
const TAGS_BY_LETTER = byFirstLetter(BLACK_TAGS.map((name) => ({ name })));
const NO_NAMES: readonly never[] = [];

/**
 * The names that cstrcasecmp_with_null could find equal to the n bytes at `start`: those starting
 * with its first non-NUL byte (a-z upper-cased), since NULs are skipped and every name is ASCII.
 */
function candidates<T>(groups: readonly (readonly T[])[], s: Uint8Array, start: number, n: number): readonly T[] {
  for (let i = start; i < start + n; i++) {
    const b = i < s.length ? s[i]! : 0;
    if (b === 0) continue;
    return b < 128 ? groups[b >= 97 && b <= 122 ? b - 32 : b]! : NO_NAMES;
  }
  return NO_NAMES;
}

/** The byte at i, or 0 past the end (ModSecurity's terminating NUL). */
const at = (s: Uint8Array, i: number): number => (i < s.length ? s[i]! : 0);

/**
 * cstrcasecmp_with_null(a, s + start, n) == 0: the n bytes from `start`, NULs dropped and a-z
 * upper-cased, are exactly `a` (upper case).
 */
function caseEqWithNull(a: string, s: Uint8Array, start: number, n: number): boolean {
  const alen = a.length;
  let ai = 0;
  for (let bi = 0; bi < n; bi++) {
    let cb = at(s, start + bi);
    if (cb === 0) continue;
    // past the end of `a`, C compares with its NUL: a mismatch
    if (ai === alen) return false;
    if (cb >= 97 && cb <= 122) cb -= 0x20;
    if (a.charCodeAt(ai++) !== cb) return false;
  }
  return ai === alen;
}

const HEX = (() => {
  const t = new Int16Array(256).fill(256);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i;
    t[97 + i] = 10 + i;
  }
  return t;
})();

let consumed = 0;
const ret = (value: number, used: number): number => {
  consumed = used;
  return value;
};

/**
 * html_decode_char_at: the character at `start` (an entity &#...; or &#x...; decoded) and how many
 * bytes it used. `len` is what is left of the token; as in C, "&#" and "&#x" look one or two bytes
 * further before checking it. The count of bytes used goes to `consumed` (no allocation per call).
 */
function htmlDecodeCharAt(s: Uint8Array, start: number, len: number): number {
  if (len === 0) return ret(-1, 0);
  const first = at(s, start);
  if (first !== 38 || len < 2) return ret(first, 1);
  if (at(s, start + 1) !== 35) return ret(38, 1); // named entities: don't care
  const x = at(s, start + 2);
  if (x === 120 || x === 88) {
    let ch = HEX[at(s, start + 3)]!;
    if (ch === 256) return ret(38, 1); // degenerate case '&#[?]'
    let val = ch;
    let i = 4;
    while (i < len) {
      const b = at(s, start + i);
      if (b === 59) return ret(val, i + 1);
      ch = HEX[b]!;
      if (ch === 256) return ret(val, i);
      val = val * 16 + ch;
      if (val > 0x1000ff) return ret(38, 1);
      ++i;
    }
    return ret(val, i);
  }
  let i = 2;
  let ch = at(s, start + i);
  if (ch < 48 || ch > 57) return ret(38, 1);
  let val = ch - 48;
  i += 1;
  while (i < len) {
    ch = at(s, start + i);
    if (ch === 59) return ret(val, i + 1);
    if (ch < 48 || ch > 57) return ret(val, i);
    val = val * 10 + (ch - 48);
    if (val > 0x1000ff) return ret(38, 1);
    ++i;
  }
  return ret(val, i);
}

/**
 * htmlencode_startswith: does the HTML-encoded text at [start, start + n) begin with `a` (upper
 * case), ignoring case, leading white space and control characters, NULs and newlines?
 */
function htmlencodeStartsWith(a: string, s: Uint8Array, start: number, n: number): boolean {
  let ai = 0;
  let first = true;
  let b = start;
  while (n > 0) {
    if (ai === a.length) return true;
    let cb = htmlDecodeCharAt(s, b, n);
    b += consumed;
    n -= consumed;
    if (first && cb <= 32) continue; // ignore leading whitespace and control characters
    first = false;
    if (cb === 0) continue; // always ignore null characters in user input
    if (cb === 10) continue; // ignore newlines (the C comment says vertical tab)
    if (cb >= 97 && cb <= 122) cb -= 0x20;
    // C: `*a != (char)cb`
    if (a.charCodeAt(ai) !== (cb & 0xff)) return false;
    ai++;
  }
  return ai === a.length;
}

/** b is the ASCII letter `upper` in either case */
const ci = (b: number, upper: number): boolean => b === upper || b === upper + 32;

function isBlackTag(s: Uint8Array, start: number, len: number): boolean {
  if (len < 3) return false;
  const tags = candidates(TAGS_BY_LETTER, s, start, len);
  for (let i = 0; i < tags.length; i++) {
    const name = tags[i]!.name;
    // the NUL-free bytes compared are at most len: a longer name cannot match
    if (name.length <= len && caseEqWithNull(name, s, start, len)) return true;
  }
  const c0 = s[start]!;
  const c1 = s[start + 1]!;
  const c2 = s[start + 2]!;
  // anything SVG related
  if (ci(c0, 83) && ci(c1, 86) && ci(c2, 71)) return true;
  // anything XSL(t) related
  if (ci(c0, 88) && ci(c1, 83) && ci(c2, 76)) return true;
  return false;
}

function isBlackAttr(s: Uint8Array, start: number, len: number): Attribute {
  if (len < 2) return TYPE_NONE;
  if (len >= 5) {
    // JavaScript on.* event handlers
    if (ci(s[start]!, 79) && ci(s[start + 1]!, 78)) {
      // (a NUL in the compared bytes always fails: it shortens them; so the first byte must match)
      const b = at(s, start + 2);
      const group = b < 128 ? EVENTS_BY_LETTER[b >= 97 && b <= 122 ? b - 32 : b]! : NO_NAMES;
      for (let i = 0; i < group.length; i++) {
        const name = group[i]!.name;
        if (caseEqWithNull(name, s, start + 2, name.length)) return TYPE_BLACK;
      }
    }
    // XMLNS can be used to create arbitrary tags
    if (caseEqWithNull('XMLNS', s, start, 5) || caseEqWithNull('XLINK', s, start, 5)) return TYPE_BLACK;
  }
  const attrs = candidates(ATTRS_BY_LETTER, s, start, len);
  for (let i = 0; i < attrs.length; i++) {
    const { name, type } = attrs[i]!;
    if (name.length <= len && caseEqWithNull(name, s, start, len)) return type;
  }
  return TYPE_NONE;
}

function isBlackUrl(s: Uint8Array, start: number, len: number): boolean {
  // skip whitespace, controls and high-bit bytes (C: a signed char <= 32 or >= 127)
  while (len > 0 && (s[start]! <= 32 || s[start]! >= 127)) {
    ++start;
    --len;
  }
  return (
    htmlencodeStartsWith('DATA', s, start, len) ||
    htmlencodeStartsWith('VIEW-SOURCE', s, start, len) ||
    htmlencodeStartsWith('JAVA', s, start, len) || // JAVA, JAVASCRIPT
    htmlencodeStartsWith('VBSCRIPT', s, start, len)
  );
}

/** libinjection_is_xss: XSS in the input read from the given tokenizer state? */
export function isXss(s: Uint8Array, flags: H5Flags): boolean {
  const h5 = new H5State(s, flags);
  let attr: Attribute = TYPE_NONE;
  while (h5.next()) {
    const type = h5.tokenType;
    const start = h5.tokenStart;
    const len = h5.tokenLen;
    if (type !== H5Type.ATTR_VALUE) attr = TYPE_NONE;

    if (type === H5Type.DOCTYPE) {
      return true;
    } else if (type === H5Type.TAG_NAME_OPEN) {
      if (isBlackTag(s, start, len)) return true;
    } else if (type === H5Type.ATTR_NAME) {
      attr = isBlackAttr(s, start, len);
    } else if (type === H5Type.ATTR_VALUE) {
      switch (attr) {
        case TYPE_NONE:
          break;
        case TYPE_BLACK:
          return true;
        case TYPE_ATTR_URL:
          if (isBlackUrl(s, start, len)) return true;
          break;
        case TYPE_STYLE:
          return true;
        case TYPE_ATTR_INDIRECT:
          // an attribute name is given in a value
          if (isBlackAttr(s, start, len) !== TYPE_NONE) return true;
          break;
      }
      attr = TYPE_NONE;
    } else if (type === H5Type.TAG_COMMENT) {
      // IE uses a "`" as a tag ending char
      if (memchr(s, 96, start, start + len) !== -1) return true;
      // IE conditional comment, XML
      if (len > 3) {
        const c0 = s[start]!;
        const c1 = s[start + 1]!;
        const c2 = s[start + 2]!;
        if (c0 === 91 && ci(c1, 73) && ci(c2, 70)) return true;
        if (ci(c0, 88) && ci(c1, 77) && ci(c2, 76)) return true;
      }
      if (len > 5) {
        // IE <?import pseudo-tag; XML entity definition
        if (caseEqWithNull('IMPORT', s, start, 6)) return true;
        if (caseEqWithNull('ENTITY', s, start, 6)) return true;
      }
    }
  }
  return false;
}

/** libinjection_xss: the input as HTML text, then as an attribute value unquoted, in '', "" and ``. */
export function xssBytes(s: Uint8Array): boolean {
  return (
    isXss(s, H5Flags.DATA_STATE) ||
    isXss(s, H5Flags.VALUE_NO_QUOTE) ||
    isXss(s, H5Flags.VALUE_SINGLE_QUOTE) ||
    isXss(s, H5Flags.VALUE_DOUBLE_QUOTE) ||
    isXss(s, H5Flags.VALUE_BACK_QUOTE)
  );
}

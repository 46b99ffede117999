#!/usr/bin/env node
// Converts libinjection's own test files into testdata/ (libinjection, BSD-3-Clause, commit 85e252a:
// https://github.com/libinjection/libinjection). Usage:
//   node generate-fixtures.mjs LIBINJECTION_DIR            writes testdata/upstream-tests.json and
//                                                          prints the sample inputs, hex, one a line
//   node generate-fixtures.mjs LIBINJECTION_DIR VERDICTS   also writes testdata/samples.txt
// - upstream-tests.json: tests/test-{tokens,folding,sqli,html5}-*.txt as [file, input, expected]
//   (inputs and outputs rtrimmed as libinjection's testdriver does; latin1 strings).
// - samples.txt: the attack samples of data/ (sqli-*.txt except the two largest, xss-*.txt,
//   false_positives.txt), each line as reader.c reads it (rtrimmed, URL-decoded), with the verdicts of
//   libinjection's C code on those bytes: VERDICTS holds one line per printed input,
//   "<fingerprint or empty>\t<0|1>" (libinjection_sqli, libinjection_xss), from a small driver
//   linked with the C library (not part of this repository).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [root, verdictsFile] = process.argv.slice(2);
if (!root) {
  console.error('usage: generate-fixtures.mjs LIBINJECTION_DIR [VERDICTS]');
  process.exit(2);
}
const out = (name) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));
const rtrim = (s) => s.replace(/[ \n\t\r]+$/, '');

const tests = [];
for (const f of readdirSync(join(root, 'tests')).sort()) {
  if (!/^test-(tokens|folding|sqli|html5)-.*\.txt$/.test(f)) continue;
  const m = /^--TEST--\n[\s\S]*?--INPUT--\n([\s\S]*?)--EXPECTED--\n([\s\S]*)$/.exec(readFileSync(join(root, 'tests', f), 'latin1'));
  if (!m) throw new Error(`cannot read ${f}`);
  tests.push([f.replace(/\.txt$/, ''), rtrim(m[1]), rtrim(m[2])]);
}
writeFileSync(out('upstream-tests.json'), `[\n${tests.map((t) => JSON.stringify(t)).join(',\n')}\n]\n`);

/** modp_url_decode, as libinjection's reader.c applies it to each sample line */
function urlDecode(b) {
  const hex = (c) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : 256);
  const o = [];
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    if (c === 43) {
      o.push(32);
      i += 1;
    } else if (c === 37 && i + 2 < b.length && ((hex(b[i + 1]) << 4) | hex(b[i + 2])) < 256) {
      o.push((hex(b[i + 1]) << 4) | hex(b[i + 2]));
      i += 3;
    } else {
      o.push(c);
      i += 1;
    }
  }
  return Buffer.from(o);
}

const samples = [];
for (const f of readdirSync(join(root, 'data')).sort()) {
  if (!/^(sqli-.*|xss-.*|false_positives)\.txt$/.test(f) || f === 'sqli-forums.txt' || f === 'sqli-wordpress_rbarnett.txt') continue;
  for (const raw of readFileSync(join(root, 'data', f), 'latin1').split('\n')) {
    const line = rtrim(raw);
    if (line === '' || line.startsWith('#')) continue;
    samples.push([f.replace(/\.txt$/, ''), urlDecode(Buffer.from(line, 'latin1'))]);
  }
}
if (!verdictsFile) {
  for (const [, b] of samples) console.log(b.toString('hex'));
  process.exit(0);
}
const verdicts = readFileSync(verdictsFile, 'utf8').split('\n');
const lines = [
  '# libinjection data/ samples, under a "## file" line each: libinjection_sqli fingerprint (- when',
  '# not SQLi), TAB, libinjection_xss (0/1), TAB, the input as a JSON string of latin1 chars (one per',
  '# byte: the URL-decoded line as reader.c reads it)',
];
let current = '';
samples.forEach(([file, b], i) => {
  const [fp, xss] = (verdicts[i] ?? '').split('\t');
  if (xss !== '0' && xss !== '1') throw new Error(`no verdict for sample ${i}`);
  if (file !== current) lines.push(`## ${(current = file)}`);
  const json = JSON.stringify(b.toString('latin1')).replace(/[\u007f-\u00ff]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  lines.push(`${fp || '-'}\t${xss}\t${json}`);
});
writeFileSync(out('samples.txt'), `${lines.join('\n')}\n`);
console.log(`${tests.length} test files, ${samples.length} samples`);

/**
 * The go-ftw test format (https://github.com/coreruleset/ftw-tests-schema), as the runner reads it:
 * one file per rule, each test a list of stages, each stage one request (`input`) and what must be
 * seen of it (`output`). Field names follow the schema; defaults are go-ftw's (test/defaults.go).
 */

/** A header as sent: name and value unchanged, in the order written. */
export interface HeaderTuple {
  readonly name: string;
  readonly value: string;
}

/** What the bundled upstream answers for one stage (`input.response`, albedo's reflection spec). */
export interface ReflectSpec {
  readonly status: number;
  readonly headers: readonly HeaderTuple[];
  readonly body: Buffer;
}

export interface FtwInput {
  readonly method: string;
  readonly uri: string;
  readonly version: string;
  /** in the order written; go-ftw sorts a `headers` mapping by name, this runner keeps the file's order */
  readonly headers: readonly HeaderTuple[];
  /** the body after templates, list joining and `encoded_data`; null when none */
  readonly data: Buffer | null;
  /** `encoded_request`: the whole request, sent as it is (nothing added) */
  readonly encodedRequest: Buffer | null;
  /** add Connection, Content-Length and a form Content-Type (default true; `stop_magic: true` turns it off) */
  readonly autocompleteHeaders: boolean;
  /** keep the response's cookies and send them with the test's next stages */
  readonly saveCookie: boolean;
  /** what the upstream answers to this request (null: albedo's default, 200 with an empty body) */
  readonly response: ReflectSpec | null;
}

export interface FtwOutput {
  /** any of these statuses (empty: not checked) */
  readonly status: readonly number[];
  readonly responseContains: string | null;
  /** rule ids that must all have matched / must none have matched (compared as strings) */
  readonly expectIds: readonly string[];
  readonly noExpectIds: readonly string[];
  /** regexes over the request's log text (`log.match_regex`, or `log_contains`) */
  readonly matchRegex: string | null;
  readonly noMatchRegex: string | null;
  /** the request must fail (no response, connection reset, unreadable response) */
  readonly expectError: boolean;
  /** a failed stage is played once more before it counts */
  readonly retryOnce: boolean;
  /** exactly one rule may match (`isolated`, with one expected id) */
  readonly isolated: boolean;
}

export interface FtwStage {
  readonly input: FtwInput;
  readonly output: FtwOutput;
}

export interface FtwTest {
  readonly ruleId: string;
  readonly testId: number;
  readonly description: string;
  readonly stages: readonly FtwStage[];
}

export interface FtwFile {
  readonly file: string;
  readonly ruleId: string;
  readonly tests: readonly FtwTest[];
}

/** `rule_id-test_id`, as go-ftw names a test (what --include and --exclude match). */
export const testName = (t: Pick<FtwTest, 'ruleId' | 'testId'>): string => `${t.ruleId}-${t.testId}`;

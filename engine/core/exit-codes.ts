// The exit codes of DESIGN.md, in one place; the CLI maps every outcome through here.
export const ExitCode = {
  done: 0,
  failedBeforeChange: 1,
  invalidInput: 2,
  refused: 3,
  failedAfterChange: 4,
  outcomeUnknown: 5,
  interrupted: 130,
} as const;

const meanings: Record<number, string> = {
  0: 'done',
  1: 'failed before any change was made',
  2: 'invalid input or usage',
  3: 'refused by a guard, a lock or a missing acknowledgement',
  4: 'failed after a change was made: the state needs a look',
  5: 'outcome unknown: check the replicas before doing anything else',
  130: 'interrupted',
};

export function exitCodeMeaning(code: number): string {
  return meanings[code] ?? 'unexpected exit code';
}

/**
 * The run id of train-vanilla / train-ctc from --note: it names the run record and the checkpoint
 * folder, so two notes must never share one (the second run would replace the first's record and
 * checkpoints). Plain notes keep the ids records were written with.
 */
import { SAFE_ID_PATTERN } from '@repro/runtime';
import { runRecordPath } from '@repro/experiments';
import { customRunId } from '../src/cli';

const noteOf = (id: string, kind: 'vanilla' | 'ctc') => decodeURIComponent(id.slice(`custom-${kind}-`.length));

it('plain ASCII notes keep their id', () => {
  expect(customRunId('ctc', undefined)).toBe('custom-ctc');
  expect(customRunId('vanilla', '')).toBe('custom-vanilla');
  expect(customRunId('ctc', 'ctc')).toBe('custom-ctc-ctc');
  expect(customRunId('vanilla', 'lr0.1_wd-5e-4')).toBe('custom-vanilla-lr0.1_wd-5e-4');
  expect(customRunId('vanilla', '..')).toBe('custom-vanilla-..');
});

it('notes that differ only in non-ASCII characters get distinct ids, and the note comes back from the id', () => {
  const notes = [
    'café',
    'cafè',
    'caf_',
    'caf%C3%A9',
    'caf',
    '日本',
    '中国',
    '🙂',
    '🙃',
    'a b',
    'a_b',
    'a/b',
    '../x',
    '%',
  ];
  const ids = notes.map((n) => customRunId('vanilla', n));
  expect(new Set(ids).size).toBe(notes.length);
  ids.forEach((id, i) => {
    expect(id).toMatch(SAFE_ID_PATTERN);
    expect(id).not.toContain('/');
    expect(noteOf(id, 'vanilla')).toBe(notes[i]);
    // the record lands in the scale's folder, never elsewhere
    expect(runRecordPath('/out/runs', { package: 'dt-tradeoff-ctc', runId: id, seed: 1, scale: 'cpu' })).toBe(
      `/out/runs/dt-tradeoff-ctc/cpu/${id}.seed1.json`,
    );
  });
  expect(customRunId('vanilla', 'café')).toBe('custom-vanilla-caf%C3%A9');
  expect(customRunId('ctc', 'a b')).toBe('custom-ctc-a%20b');
  expect(customRunId('ctc', '100%')).toBe('custom-ctc-100%25');
});

it('a note too long for a file name, or not valid Unicode, is refused', () => {
  expect(customRunId('ctc', 'x'.repeat(150))).toBe(`custom-ctc-${'x'.repeat(150)}`);
  expect(() => customRunId('ctc', 'é'.repeat(40))).toThrow(/--note: the run id would be 251 characters \(at most 200/);
  expect(() => customRunId('ctc', 'a\uD800b')).toThrow(/--note: not valid Unicode text/);
});

/** results/README.md: the overview of every claim comes first; rows with nothing reproduced are counted, not listed. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RESULT_COLUMNS, resultsReadme } from '../src';

it('opens with the claims of every package, then the package tables without their empty rows', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-readme-'));
  const row = (r: Record<string, string>) => RESULT_COLUMNS.map((c) => r[c] ?? '').join(',');
  fs.writeFileSync(
    path.join(out, 'demo.csv'),
    [
      RESULT_COLUMNS.join(','),
      row({
        package: 'demo',
        table: 'claims',
        row: 'x',
        reproduced: '0.5',
        scale: 'cpu',
        status: 'claim-inconclusive',
      }),
      row({ package: 'demo', table: 't1', row: 'K1', published: '91.8', scale: 'paper', status: 'missing' }),
      row({
        package: 'demo',
        table: 't1',
        row: 'K2',
        published: '85.7',
        scale: 'paper',
        status: 'not-reproducible-here',
      }),
    ].join('\n') + '\n',
  );
  const claim = {
    id: 'x',
    verdict: 'claim-inconclusive',
    scale: 'cpu',
    estimate: 0.5,
    lo: 0.1,
    hi: 0.9,
    level: 0.95,
    threshold: 0,
    holdsWhen: 'above',
    kind: 'claim',
    preconditions: [{ name: 'plateau', passed: false, value: 1.9 }],
    refutation: null,
  };
  const check = { ...claim, id: 'gauss', kind: 'estimator-check', preconditions: [] };
  fs.writeFileSync(path.join(out, 'demo.claims.json'), JSON.stringify({ claims: [claim, check] }));
  const md = resultsReadme(out);
  const overview = md.indexOf('## What holds, paper by paper');
  expect(overview).toBeGreaterThan(0);
  expect(overview).toBeLessThan(md.indexOf('## Status values'));
  expect(md).toContain(
    '| demo | x | `claim-inconclusive` | 0.50 [0.10, 0.90] (95%) | above 0.00 | failed: plateau | cpu | [plots](plots/demo/) |',
  );
  expect(md).not.toMatch(/\| demo \| gauss \|/); // an estimator check is not a claim of the paper
  expect(md).toMatch(/Not shown: 2 rows with no reproduced value here \(1 `missing`, 1 `not-reproducible-here`\)/);
  expect(md).not.toMatch(/\| K1 \|/);
});

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const FIXTURE_DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'fashion-mnist');

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `repro-${prefix}-`));
}

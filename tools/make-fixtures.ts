/**
 * Regenerates test/fixtures/fashion-mnist: the first 30 training and the first 10 test images of
 * each Fashion-MNIST class (300 + 100 images), as gzipped IDX files, from the installed dataset.
 * Run: npx tsx tools/make-fixtures.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { encodeIdx, firstKPerClass, loadFashionMnist } from '@repro/datasets';

const out = path.join(__dirname, '..', 'test', 'fixtures', 'fashion-mnist');
fs.mkdirSync(out, { recursive: true });
for (const [split, k, prefix] of [
  ['train', 30, 'train'],
  ['test', 10, 't10k'],
] as const) {
  const ds = firstKPerClass(loadFashionMnist(split), k);
  const [h, w] = ds.shape;
  const gz = (b: Buffer) => zlib.gzipSync(b, { level: 9, mtime: 0 } as zlib.ZlibOptions);
  fs.writeFileSync(path.join(out, `${prefix}-images-idx3-ubyte.gz`), gz(encodeIdx([ds.size, h, w], ds.images)));
  fs.writeFileSync(
    path.join(out, `${prefix}-labels-idx1-ubyte.gz`),
    gz(encodeIdx([ds.size], Uint8Array.from(ds.labels))),
  );
  console.log(`${split}: ${ds.size} images -> ${out}`);
}

// Publishes npm tarballs to a registry the way `npm publish` does (one PUT
// of the packument with the tarball attached) and prints one line per
// tarball: its name, HTTP status, milliseconds and the error text, as TSV.
// Used by scripts/scan-corpus.sh to time publishes with every inline
// scanner on. Usage: node publish.mjs REGISTRY_URL TOKEN FILE.tgz...
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

const [reg, token, ...files] = process.argv.slice(2);
for (const file of files) {
  const tgz = readFileSync(file);
  let pkg;
  try {
    // The manifest is the top directory's package.json ("package/" for
    // most tarballs; @types packages use the package's own name).
    const top = execFileSync('tar', ['-tzf', file], { maxBuffer: 1 << 26 }).toString().split('\n')
      .find((n) => /^[^/]+\/package\.json$/.test(n));
    pkg = JSON.parse(execFileSync('tar', ['-xzOf', file, top], { maxBuffer: 1 << 24 }));
  } catch (e) {
    console.log(`${file}\t-\t0\tno top-level package.json`);
    continue;
  }
  // What npm strips or adds on publish; publishConfig never redirects here.
  delete pkg.publishConfig;
  const fname = `${pkg.name.replace(/^@[^/]+\//, '')}-${pkg.version}.tgz`;
  const enc = encodeURIComponent(pkg.name).replace(/^%40/, '@');
  const url = `${reg.replace(/\/$/, '')}/${enc}`;
  pkg._id = `${pkg.name}@${pkg.version}`;
  pkg.dist = {
    shasum: createHash('sha1').update(tgz).digest('hex'),
    integrity: 'sha512-' + createHash('sha512').update(tgz).digest('base64'),
    tarball: `${url}/-/${fname}`,
  };
  const body = JSON.stringify({
    _id: pkg.name, name: pkg.name, 'dist-tags': { latest: pkg.version },
    versions: { [pkg.version]: pkg }, access: null,
    _attachments: { [fname]: { content_type: 'application/octet-stream', data: tgz.toString('base64'), length: tgz.length } },
  });
  const t0 = performance.now();
  const res = await fetch(url, {
    method: 'PUT', body,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'npm-command': 'publish' },
  });
  const text = await res.text();
  const ms = (performance.now() - t0).toFixed(1);
  const err = res.ok ? '' : (JSON.parse(text || '{}').error || text).replace(/\s+/g, ' ').slice(0, 400);
  console.log(`${pkg.name}@${pkg.version}\t${res.status}\t${ms}\t${err}`);
}

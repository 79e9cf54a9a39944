#!/usr/bin/env bash
# Re-vendors what the web assets copy from elsewhere, and fails if any copy was out of date:
#   node_modules/jsqr (npm ci, pinned by package-lock.json) -> vendor/jsQR.js, vendor/jsQR.LICENSE
#   ../schemas/{certificate,status-list,directory}.schema.json -> assets/schemas.js
# Run it from anywhere; CI runs it to check that the committed copies are the pinned ones.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --no-audit --no-fund --loglevel=error

stale=()
# Puts $1 at $2 if they differ, and remembers that $2 was stale.
take() {
    if ! cmp -s "$1" "$2"; then
        cp "$1" "$2"
        stale+=("$2")
    fi
}

take node_modules/jsqr/dist/jsQR.js vendor/jsQR.js
take node_modules/jsqr/LICENSE vendor/jsQR.LICENSE

schemas=$(mktemp)
trap 'rm -f "$schemas"' EXIT
node --input-type=module - "$schemas" <<'EOF'
import { readFileSync, writeFileSync } from 'node:fs';
const kinds = { certificate: 'certificate', statusList: 'status-list', directory: 'directory' };
let text = '// Copied by web/vendor.sh from schemas/*.schema.json (the contract): do not edit.\n';
for (const [name, file] of Object.entries(kinds)) {
  const schema = JSON.parse(readFileSync(`../schemas/${file}.schema.json`, 'utf8'));
  text += `\nexport const ${name} = ${JSON.stringify(schema, null, 2)};\n`;
}
writeFileSync(process.argv[2], text);
EOF
take "$schemas" assets/schemas.js

if ((${#stale[@]})); then
    echo "vendor.sh: out of date, now updated (commit them): ${stale[*]}" >&2
    exit 1
fi
echo "vendor.sh: vendored files are up to date"

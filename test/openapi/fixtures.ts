/** Paths of the OpenAPI fixtures (sources, not dist). */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

// dist/test/openapi/fixtures.js → test/openapi/fixtures
export const FIXTURES = fileURLToPath(new URL('../../../test/openapi/fixtures/', import.meta.url));
export const SHOP = join(FIXTURES, 'shop-3.0.yaml');
export const LIBRARY = join(FIXTURES, 'library-3.1.yaml');
export const BROKEN_REF = join(FIXTURES, 'broken-ref.yaml');
export const MISSING_FILE = join(FIXTURES, 'missing-file.yaml');

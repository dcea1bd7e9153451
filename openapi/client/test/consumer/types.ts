// Compiled (tsc --noEmit, NodeNext resolution) next to the installed tarball by
// test/package.test.ts: the package's `types` condition resolves, and its
// declarations type the SDK. The @ts-expect-error lines fail the compile when a
// type is lost (becomes `any`).
import { type ApiClient, type Profile, type User, createApiClient, getMe } from '@mlx-manager/client';

const api: ApiClient = createApiClient({ baseUrl: 'http://127.0.0.1:8080' });
export async function email(): Promise<string | undefined> {
  const { data } = await getMe({ client: api.client });
  const user: User | undefined = data;
  // @ts-expect-error email is a string
  const wrong: number | undefined = user?.email;
  void wrong;
  return user?.email;
}
export function port(p: Profile): number {
  // @ts-expect-error there is no such field
  void p.no_such_field;
  return p.port;
}

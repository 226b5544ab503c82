// Another module's top-level getUser: bundled with service.ts, it makes esbuild rename one of them.
export function getUser(id: number): string {
  return `other ${id}`;
}

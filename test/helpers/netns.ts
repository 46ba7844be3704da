// Throwaway network namespaces for kernel tests. The implementation lives in
// test/testbed/netns.ts because `npm run demo` builds the same bench; this module keeps
// the tests' import path. Each namespace has a unique name and is removed in
// afterAll/finally even when the test fails.
export { createNetns, uniqueName, withNetns, type Netns } from '../testbed/netns.js';

// The model's shared types are readonly (compile freezes and memoises them); tests
// and the planner's simulator build and edit their own copies through this.
export type Mutable<T> = T extends Buffer | bigint | number | string | boolean | undefined | null
  ? T
  : T extends ReadonlyArray<infer U>
    ? Mutable<U>[]
    : { -readonly [K in keyof T]: Mutable<T[K]> };

// Pure helpers that spell netcg's nf_tables objects in the kernel's terms.
export * from './bytes.js';
export * from './exprs.js';
export * from './udata.js';

export * from './finding.js';
export { runDoctor } from './run.js';
export { gatherInputs, type DoctorInputs } from './inputs.js';
export { formatFindings, doctorJson } from './format.js';

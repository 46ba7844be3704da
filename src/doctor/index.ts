export * from './finding.js';
export { runDoctor } from './run.js';
export { gatherInputs, readNamespaceFiles, type DoctorInputs } from './inputs.js';
export { formatFindings, doctorJson, DOCTOR_JSON_VERSION } from './format.js';
export { probeNftables } from './probe.js';

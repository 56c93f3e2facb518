/** The python3 the tests read and write .npy/.npz files with: a reader that is not prunelab's own. */
export { numpyPython } from '../../orchestrator/fixtures/python.ts';

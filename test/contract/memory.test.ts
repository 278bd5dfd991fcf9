import { memoryBackend } from './backend.ts';
import { runContractSuites } from './contract-suites.ts';

runContractSuites('memory', memoryBackend);

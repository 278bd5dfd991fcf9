import { sqliteBackend } from './backend.ts';
import { runContractSuites } from './contract-suites.ts';

runContractSuites('sqlite', sqliteBackend);

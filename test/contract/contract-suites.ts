import type { BackendFactory } from './backend.ts';
import { barrierContract } from './barrier.contract.ts';
import { messageBusContract } from './message-bus.contract.ts';
import { stateStoreContract } from './state-store.contract.ts';

/** Runs every port's contract suite against one backend. */
export function runContractSuites(name: string, factory: BackendFactory): void {
  messageBusContract(name, factory);
  stateStoreContract(name, factory);
  barrierContract(name, factory);
}

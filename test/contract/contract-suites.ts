import type { BackendFactory, BackendTraits } from './backend.ts';
import { barrierContract } from './barrier.contract.ts';
import { coordinatorContract } from './coordinator.contract.ts';
import { messageBusContract } from './message-bus.contract.ts';
import { stateStoreContract } from './state-store.contract.ts';

/** Runs every port's contract suite against one backend. */
export function runContractSuites(name: string, factory: BackendFactory, traits: BackendTraits = {}): void {
  messageBusContract(name, factory, traits);
  stateStoreContract(name, factory, traits);
  barrierContract(name, factory, traits);
  coordinatorContract(name, factory, traits);
}

/** Moved to neural/tfBackend.ts (every neural kind shares it); this path stays for its importers. */
export * from '../neural/tfBackend.js';

export async function runProducerMode(_argv: string[], _env: { root: string }): Promise<number> { return 2; }

/**
 * A compaction step whose commit lost to another commit (apache/iceberg#4996: a table that takes
 * deletes all the time would never finish compacting with plain validation) is committed again on
 * top of the new snapshot instead of being redone, when that is safe: the files it rewrote and the
 * delete files it retires are all still live, the schema is the same, and what landed meanwhile
 * is appended data files (fine, as Iceberg's RewriteDataFiles allows) and Parquet position
 * deletes. Those deletes' positions in rewritten files are remapped through the step's position
 * map onto its new files (Moonlink does the same), written as one position-delete file committed
 * in the same `replace` snapshot (so with the new files' sequence number: it applies to them), and
 * the delete files that named only rewritten files are retired. Anything else (equality deletes,
 * deletion vectors, a rewritten file removed, a schema change) returns undefined: redo the step.
 */
import { commitRewrite, remapPosition, type CompactionInput, type CompactionResult, type Rewrite } from "./compaction.js";
import type { LiveFile, TableFiles } from "./compaction-plan.js";
import type { DataFile } from "./data-file.js";
import type { TableMetadata } from "./metadata/types.js";
import { readPositionDeletes, writePositionDeletes, type DeletedPosition } from "./position-deletes.js";
import type { TableCommit } from "./table-commit.js";

/** What a rebase did. */
export interface RebasedStep {
  commit: TableCommit;
  /** Positions other commits deleted in rewritten files, now deleted in the new files. */
  deletesRemapped: number;
  /** Delete files the rebased commit retires (the step's, and the new ones that named only rewritten files). */
  retiredDeleteFiles: number;
}

/** What a rebase needs: the rewrite, what it was read from, and its position map. */
export interface RebaseArgs {
  input: Pick<CompactionInput, "store" | "keyFor" | "now" | "snapshotId" | "uuid" | "written" | "parquet">;
  /** The schema id and table uuid the rewrite read. */
  schemaId: number;
  tableUuid: string;
  rewrite: Rewrite;
  /** True for a delete file the rewrite did not see (it landed after the rewrite read the table). */
  isNew: (d: LiveFile) => boolean;
  /** Where a row of a rewritten file went (null: dropped as deleted); undefined when the map cannot say (redo). */
  locate: (filePath: string, pos: number) => { filePath: string; pos: number } | null | undefined;
}

/** Commits a rewrite again onto `next` (the table's metadata now; its files `nextFiles`), or undefined when the rewrite must be redone. */
export async function rebaseRewrite(a: RebaseArgs, next: TableMetadata, nextFiles: TableFiles): Promise<RebasedStep | undefined> {
  const { input, rewrite } = a;
  if (next["current-schema-id"] !== a.schemaId || next["table-uuid"] !== a.tableUuid) return undefined;
  const liveData = new Set(nextFiles.data.map((f) => f.file.filePath));
  const liveDeletes = new Set(nextFiles.deletes.map((f) => f.file.filePath));
  // RewriteDataFiles' validation: a rewritten file removed (or its delete file gone) meanwhile fails the rewrite.
  if (!rewrite.removedData.every((f) => liveData.has(f.filePath)) || !rewrite.retired.every((f) => liveDeletes.has(f.filePath))) return undefined;
  const rewritten = new Set(rewrite.removedData.map((f) => f.filePath));
  const remapped: DeletedPosition[] = [];
  const retired: DataFile[] = [...rewrite.retired];
  for (const d of nextFiles.deletes) {
    if (!a.isNew(d)) continue;
    if (d.file.content !== 1 || d.file.fileFormat.toUpperCase() !== "PARQUET") return undefined; // equality deletes, deletion vectors
    const bytes = await input.store.get(input.keyFor(d.file.filePath));
    if (!bytes) return undefined;
    let onlyRewritten = true;
    for (const r of await readPositionDeletes(bytes)) {
      const path = r.filePath;
      if (!rewritten.has(path)) {
        onlyRewritten = false;
        continue;
      }
      const to = a.locate(path, Number(r.pos));
      if (to === undefined) return undefined;
      if (to) remapped.push({ filePath: to.filePath, pos: BigInt(to.pos) });
    }
    if (onlyRewritten) retired.push(d.file);
  }
  const deleteFiles: DataFile[] = [];
  if (remapped.length > 0) {
    const first = rewrite.added[0]!.filePath;
    const path = `${first.slice(0, first.lastIndexOf("/"))}/${(input.uuid ?? (() => crypto.randomUUID()))()}-remapped-deletes.parquet`;
    const out = writePositionDeletes(path, rewrite.added[0]!.partition, remapped, input.parquet);
    await input.store.put(input.keyFor(path), out.bytes);
    input.written.push(path);
    deleteFiles.push(out.dataFile);
  }
  const commit = await commitRewrite(input, next, nextFiles, { ...rewrite, retired, remappedDeletes: deleteFiles });
  return { commit, deletesRemapped: remapped.length, retiredDeleteFiles: retired.length };
}

/** rebaseRewrite for a step whose position map is in memory (`result.remap`) and whose base files are `input.files`. */
export function rebaseStep(input: CompactionInput, result: CompactionResult, next: TableMetadata, nextFiles: TableFiles): Promise<RebasedStep | undefined> {
  const known = new Set(input.files.deletes.map((f) => f.file.filePath));
  return rebaseRewrite(
    {
      input,
      schemaId: input.metadata["current-schema-id"],
      tableUuid: input.metadata["table-uuid"],
      rewrite: result.rewrite,
      isNew: (d) => !known.has(d.file.filePath),
      locate: (path, pos) => remapPosition(result.remap, path, pos),
    },
    next,
    nextFiles,
  );
}

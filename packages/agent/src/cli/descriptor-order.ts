import type { DescriptorProto, FileDescriptorProto } from "@bufbuild/protobuf/wkt";

/**
 * The files with each one after the files it uses, as a registry must receive them. The
 * uses are read from the types each file refers to, not only from its `dependency` list:
 * the agent's reflection answers with descriptors rebuilt by protobufjs, which leaves that
 * list empty.
 */
export function inDependencyOrder(files: readonly FileDescriptorProto[]): FileDescriptorProto[] {
  const declaredIn = new Map<string, string>();
  for (const file of files) for (const name of declaredTypes(file)) declaredIn.set(name, file.name);
  const byName = new Map(files.map((f) => [f.name, f]));
  const ordered: FileDescriptorProto[] = [];
  const placed = new Set<string>();
  const place = (file: FileDescriptorProto, path: Set<string>): void => {
    if (placed.has(file.name) || path.has(file.name)) return;
    path.add(file.name);
    const uses = [...file.dependency, ...referencedTypes(file).map((t) => declaredIn.get(t) ?? "")];
    for (const used of uses) {
      const dep = byName.get(used);
      if (dep && dep !== file) place(dep, path);
    }
    placed.add(file.name);
    ordered.push(file);
  };
  for (const file of files) place(file, new Set());
  return ordered;
}

/** Fully qualified names (with the leading dot descriptors use) of every message and enum in a file. */
function declaredTypes(file: FileDescriptorProto): string[] {
  const prefix = file.package ? `.${file.package}` : "";
  const walk = (scope: string, messages: DescriptorProto[]): string[] =>
    messages.flatMap((m) => [
      `${scope}.${m.name}`,
      ...m.enumType.map((e) => `${scope}.${m.name}.${e.name}`),
      ...walk(`${scope}.${m.name}`, m.nestedType),
    ]);
  return [...file.enumType.map((e) => `${prefix}.${e.name}`), ...walk(prefix, file.messageType)];
}

/** The type names a file's fields and methods refer to. */
function referencedTypes(file: FileDescriptorProto): string[] {
  const walk = (messages: DescriptorProto[]): string[] =>
    messages.flatMap((m) => [...m.field.map((f) => f.typeName), ...walk(m.nestedType)]);
  const methods = file.service.flatMap((s) => s.method.flatMap((m) => [m.inputType, m.outputType]));
  return [...walk(file.messageType), ...methods].filter(Boolean);
}

import test from "ava";
import { create, createFileRegistry } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
} from "@bufbuild/protobuf/wkt";
import { inDependencyOrder } from "../../src/cli/descriptor-order.js";

// Two files as a reflection rebuilt by protobufjs sends them: the one asked for first, and
// no `dependency` list, though `app.proto` uses a message of `common.proto`.
const common = create(FileDescriptorProtoSchema, {
  name: "common.proto",
  package: "x.common",
  syntax: "proto3",
  messageType: [{ name: "Outer", nestedType: [{ name: "Inner" }] }],
});
const app = create(FileDescriptorProtoSchema, {
  name: "app.proto",
  package: "x.app",
  syntax: "proto3",
  messageType: [
    {
      name: "Request",
      field: [
        {
          name: "inner",
          number: 1,
          label: FieldDescriptorProto_Label.OPTIONAL,
          type: FieldDescriptorProto_Type.MESSAGE,
          typeName: ".x.common.Outer.Inner",
        },
      ],
    },
  ],
  service: [{ name: "App", method: [{ name: "Do", inputType: ".x.app.Request", outputType: ".x.common.Outer" }] }],
});

test("a file comes after the files whose types it uses, even with no dependency list", (t) => {
  t.deepEqual(
    inDependencyOrder([app, common]).map((f) => f.name),
    ["common.proto", "app.proto"],
  );
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: inDependencyOrder([app, common]) }));
  t.is(registry.getService("x.app.App")?.methods[0]?.output.typeName, "x.common.Outer");
});

test("files in order already, or unrelated, keep their order", (t) => {
  t.deepEqual(
    inDependencyOrder([common, app]).map((f) => f.name),
    ["common.proto", "app.proto"],
  );
  const other = create(FileDescriptorProtoSchema, { name: "other.proto", package: "y", syntax: "proto3" });
  t.deepEqual(
    inDependencyOrder([other, common]).map((f) => f.name),
    ["other.proto", "common.proto"],
  );
});

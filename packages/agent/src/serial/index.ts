export { VmidSerializer, type SerializeOptions } from "./vmid-serializer.js";

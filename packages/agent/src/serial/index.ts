export { VmidSerializer } from "./vmid-serializer.js";

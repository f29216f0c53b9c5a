#!/usr/bin/env node
import "../dist/pki/pki-main.js";

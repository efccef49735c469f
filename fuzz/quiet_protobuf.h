// quiet_protobuf: the generated parsers log every string field that is not UTF-8; the
// fuzzer makes millions of them. Included by the targets that parse with generated classes.
#pragma once

#include <google/protobuf/stubs/logging.h>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // nullptr: discard
  return 0;
}

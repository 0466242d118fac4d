#pragma once

namespace berth::cli {

// Makes glibc's malloc hand every block of 128 KiB or more straight to the kernel (mmap) and give
// it back on free, instead of raising that threshold as large blocks are freed (its default) and
// then keeping freed request bodies in the heaps of whichever threads parsed them. Measured
// (ResourceFault's memory cgroup test, BERTH_BODY_MEMORY=16m): peak 31-34 MiB above the resting
// size without it, 23 MiB with it; the kernel calls cost nothing measurable next to reading a body
// of that size. An operator's GLIBC_TUNABLES naming glibc.malloc.mmap_threshold wins. Call before
// any other thread exists.
void ReturnLargeBlocksToTheSystem();

}  // namespace berth::cli

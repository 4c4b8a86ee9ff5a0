/* tests/port/musl_dl_find_object.c - linked into the musl test programs only, for Debian's
   musl-gcc: it links the host GCC's libgcc_eh.a, which was built for glibc 2.35+ and asks
   glibc's _dl_find_object() where a pc's unwind tables are. musl has no such function, so every
   static program that unwinds fails to link. This one answers from dl_iterate_phdr: the loaded
   object whose PT_LOAD segments hold pc, and its PT_GNU_EH_FRAME (so link with
   -Wl,--eh-frame-hdr). A musl-native toolchain (Alpine's gcc) needs none of this. */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>

struct dl_find_object {                  /* glibc's public layout (dlfcn.h, 2.35) */
    unsigned long long dlfo_flags;
    void *dlfo_map_start;
    void *dlfo_map_end;
    struct link_map *dlfo_link_map;
    void *dlfo_eh_frame;
    unsigned long long dlfo_reserved[7];
};

struct find { uintptr_t pc; struct dl_find_object *result; int found; };

static int find_visit(struct dl_phdr_info *info, size_t size, void *arg) {
    struct find *f = arg;
    uintptr_t start = UINTPTR_MAX, end = 0;
    void *eh_frame = 0;
    int i;
    (void)size;
    for (i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = info->dlpi_phdr + i;
        uintptr_t at = (uintptr_t)(info->dlpi_addr + ph->p_vaddr);
        if (ph->p_type == PT_GNU_EH_FRAME) eh_frame = (void *)at;
        if (ph->p_type != PT_LOAD) continue;
        if (at < start) start = at;
        if (at + ph->p_memsz > end) end = at + ph->p_memsz;
    }
    if (f->pc < start || f->pc >= end) return 0;     /* not this object: go on */
    f->result->dlfo_flags = 0;
    f->result->dlfo_map_start = (void *)start;
    f->result->dlfo_map_end = (void *)end;
    f->result->dlfo_link_map = 0;
    f->result->dlfo_eh_frame = eh_frame;
    f->found = 1;
    return 1;
}

int _dl_find_object(void *pc, struct dl_find_object *result);
int _dl_find_object(void *pc, struct dl_find_object *result) {
    struct find f;
    f.pc = (uintptr_t)pc;
    f.result = result;
    f.found = 0;
    dl_iterate_phdr(find_visit, &f);
    return f.found ? 0 : -1;
}

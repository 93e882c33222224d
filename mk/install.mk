# make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=...]: what a packager
# expects: the tools, the shared libraries with their SONAME links, the
# public headers, pkg-config files for the installed paths and the man
# pages. (The static archives need the compiler's and simulator's internal
# archives and stay in the build tree.) Included by the top Makefile last.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
INSTALL    ?= install
NPU_MANPAGES := $(wildcard Documentation/man/*.1)
# npusim.h includes the hardware headers: they go beside it.
NPUSIM_PUBLIC_HDRS := $(addprefix firmware-sim/include/,npusim.h npu_hw.h npu_isa.h npu_arith.h)

# pc_file NAME DESCRIPTION VERSION LIBS CFLAGS PRIVATE: a pkg-config file for the installed tree.
pc_file = printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	'Name: $(1)' 'Description: $(2)' 'Version: $(3)' 'Libs: -L$${libdir} $(4)' \
	'Libs.private: $(6)' 'Cflags: $(5)'

.PHONY: install
install: $(NPUC_BIN) $(NPUC_EVAL) $(NPU_RUN) $(LIBNPU_SO) $(LIBNPUSIM_SO)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(INCLUDEDIR)/npusim $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(NPUC_BIN) $(NPUC_EVAL) $(NPU_RUN) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 755 $(LIBNPU_SO) $(LIBNPUSIM_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBNPU_SO)) $(DESTDIR)$(LIBDIR)/$(LIBNPU_SONAME)
	ln -sf $(LIBNPU_SONAME) $(DESTDIR)$(LIBDIR)/libnpu.so
	ln -sf $(notdir $(LIBNPUSIM_SO)) $(DESTDIR)$(LIBDIR)/$(LIBNPUSIM_SONAME)
	ln -sf $(LIBNPUSIM_SONAME) $(DESTDIR)$(LIBDIR)/libnpusim.so
	$(INSTALL) -m 644 libnpu/include/npu.h $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 644 $(NPUSIM_PUBLIC_HDRS) $(DESTDIR)$(INCLUDEDIR)/npusim/
	$(INSTALL) -m 644 $(NPU_MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	$(call pc_file,npu,runtime of the npu-v1 int8 NPU (kernel driver or simulator),$(LIBNPU_VERSION),-lnpu,-I$${includedir},$(LIBNPU_LDLIBS)) \
		>$(DESTDIR)$(LIBDIR)/pkgconfig/npu.pc
	$(call pc_file,npusim,functional and cycle model of the npu-v1 NPU,1.0.0,-lnpusim,-I$${includedir}/npusim,-pthread) \
		>$(DESTDIR)$(LIBDIR)/pkgconfig/npusim.pc

# The staged install works as installed: files in place, the <npu.h>
# application builds from the staged pkg-config file and runs, the staged
# npu-run runs the model, man pages format.
INSTALL_STAGE := $(BUILD)/stage
.PHONY: check-install
check-install: deps
	@echo "== make install (DESTDIR=$(INSTALL_STAGE), PREFIX=/usr)"
	@rm -rf $(INSTALL_STAGE)
	@$(MAKE) --no-print-directory install DESTDIR=$(abspath $(INSTALL_STAGE)) PREFIX=/usr >/dev/null
	@./tests/abi/check_install.sh $(INSTALL_STAGE) /usr $(FMNIST_NPUB)

check: check-install

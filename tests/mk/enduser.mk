# The end user's side (tests/test_enduser.sh): a small tool built as C and as C++ (the C++ one
# for the uncaught-exception case), run as real processes against the local receiver.
EXTRA += $(BUILD)/enduser_tool $(BUILD)/enduser_tool_cxx

$(BUILD)/enduser_tool: tests/enduser_tool.c telemetry.h
	@mkdir -p $(BUILD)
	$(CC) -std=c99 $(WARN) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/enduser_tool_cxx: tests/enduser_tool.c telemetry.h
	@mkdir -p $(BUILD)
	$(CXX) -std=c++11 $(WARN) $(CFLAGS) $(CPPFLAGS) -x c++ $< -o $@ $(LDLIBS)

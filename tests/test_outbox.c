/* test_outbox.c - the outbox without the network: caps and what goes first, spilling to files,
   what the next run takes in (oldest first, damaged and half-written files removed), the wire
   form of a stored envelope, client reports. */
#define TELEMETRY_IMPLEMENTATION
#include "telemetry.h"
#include "testlib.h"
#include "helpers.h"

static char *body(const char *text) { return telemetry__strdup(text); }

static telemetry__outbox *new_outbox(const char *dir, size_t mem, size_t disk) {
    telemetry__outbox *ob = telemetry__outbox_new();
    snprintf(ob->dir, sizeof ob->dir, "%s/outbox", dir);
    ob->memory_cap = mem;
    ob->disk_cap = disk;
    ob->client_reports = 1;
    return ob;
}

static int count_items(telemetry__outbox *ob, int category) {
    telemetry__item *it;
    int n = 0;
    for (it = ob->head; it; it = it->next) if (category < 0 || it->category == category) n++;
    return n;
}

/* Memory full: the oldest usage report goes first; errors only when no usage report is left. */
static void test_memory_cap(void) {
    char *dir = make_temp_dir();
    telemetry__outbox *ob = new_outbox(dir, 100, 1 << 20);
    char text[41];
    int i;
    memset(text, 'x', 40);
    text[40] = 0;
    telemetry__outbox_push(ob, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, NULL, body(text), 40);
    telemetry__outbox_push(ob, TELEMETRY__KIND_USAGE, TELEMETRY__CAT_USAGE, NULL, body(text), 40);
    CHECK_INT(count_items(ob, -1), 2);
    telemetry__outbox_push(ob, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, NULL, body(text), 40);
    CHECK_INT(count_items(ob, TELEMETRY__CAT_USAGE), 0);              /* the usage report went */
    CHECK_INT(count_items(ob, TELEMETRY__CAT_ERROR), 2);
    CHECK(ob->usage_dropped == 1);
    telemetry__outbox_push(ob, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, NULL, body(text), 40);
    CHECK_INT(count_items(ob, TELEMETRY__CAT_ERROR), 2);               /* then the oldest error */
    CHECK(ob->dropped[TELEMETRY__DROP_QUEUE][TELEMETRY__CAT_ERROR] == 1);
    CHECK(ob->memory_bytes <= 100);
    for (i = 0; i < 1000; i++) telemetry__outbox_push(ob, TELEMETRY__KIND_USAGE, TELEMETRY__CAT_USAGE, NULL, body(text), 40);
    CHECK(ob->memory_bytes <= 100);
    CHECK_INT(count_items(ob, TELEMETRY__CAT_ERROR), 2);               /* never an error while usage could go */
    telemetry__outbox_release(ob);
    rm_tree(dir);
}

/* Spilled files are taken in by the next run, oldest first, with kind, category and push id. */
static void test_spill_and_load(void) {
    char *dir = make_temp_dir(), path[1300];
    telemetry__outbox *ob = new_outbox(dir, 1 << 20, 1 << 20), *next;
    telemetry__item *it;
    telemetry__outbox_push(ob, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, NULL, body("{\"event_id\":\"a\"}\n{\"type\":\"event\",\"length\":2}\n{}\n"), 45);
    telemetry__outbox_push(ob, TELEMETRY__KIND_USAGE, TELEMETRY__CAT_USAGE, "-O4IKNV-a9Qk2ZxLm0Pt", body("{\"app\":\"x\"}"), 11);
    telemetry__outbox_push(ob, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_SESSION, NULL, body("{}\n{\"type\":\"session\",\"length\":2}\n{}\n"), 35);
    telemetry__lock(&ob->lock);
    telemetry__outbox_spill(ob, telemetry__monotonic_ms() + 5000);
    telemetry__unlock(&ob->lock);
    CHECK(ob->memory_bytes == 0);
    for (it = ob->head; it; it = it->next) CHECK(it->file[0] && it->data == NULL);
    CHECK_INT(count_entries(ob->dir), 3);
    /* a half-written file and a damaged one, as a crash or a stranger might leave them */
    snprintf(path, sizeof path, "%s/0000000000001-000000-deadbeef.msg.tmp-12345678", ob->dir);
    write_text(path, "telemetry-outbox 1 usage usage -\n{\"half");
    snprintf(path, sizeof path, "%s/0000000000002-000000-deadbeef.msg", ob->dir);
    write_text(path, "not ours\n");
    next = new_outbox(dir, 1 << 20, 1 << 20);
    telemetry__outbox_load(next);
    CHECK_INT(count_items(next, -1), 3);
    CHECK_INT(count_entries(next->dir), 3);                            /* both bad files are gone */
    it = next->head;
    CHECK(it && it->kind == TELEMETRY__KIND_ENVELOPE && it->category == TELEMETRY__CAT_ERROR && it->len == 45);
    it = it ? it->next : NULL;
    CHECK(it && it->kind == TELEMETRY__KIND_USAGE && strcmp(it->push_id, "-O4IKNV-a9Qk2ZxLm0Pt") == 0 && it->len == 11);
    if (it) {
        char *loaded = NULL;
        size_t len = 0;
        CHECK_INT(telemetry__item_load(next, it, &loaded, &len), 0);
        CHECK(loaded && len == 11 && memcmp(loaded, "{\"app\":\"x\"}", 11) == 0);
        telemetry__free(loaded);
    }
    it = it ? it->next : NULL;
    CHECK(it && it->category == TELEMETRY__CAT_SESSION);
    /* removing an item removes its file */
    telemetry__lock(&next->lock);
    telemetry__outbox_remove(next, next->head);
    telemetry__unlock(&next->lock);
    CHECK_INT(count_entries(next->dir), 2);
    telemetry__outbox_release(ob);
    telemetry__outbox_release(next);
    rm_tree(dir);
}

/* Disk full: the oldest usage file goes; an error that does not fit drops usage, not errors. */
static void test_disk_cap(void) {
    char *dir = make_temp_dir();
    telemetry__outbox *ob = new_outbox(dir, 1 << 20, 400);
    char text[101];
    int i;
    memset(text, 'y', 100);
    text[100] = 0;
    for (i = 0; i < 3; i++) telemetry__outbox_push(ob, TELEMETRY__KIND_USAGE, TELEMETRY__CAT_USAGE, NULL, body(text), 100);
    telemetry__outbox_push(ob, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, NULL, body("{}\n"), 3);
    telemetry__lock(&ob->lock);
    telemetry__outbox_spill(ob, telemetry__monotonic_ms() + 5000);
    telemetry__unlock(&ob->lock);
    for (i = 0; i < 3; i++) telemetry__outbox_push(ob, TELEMETRY__KIND_ENVELOPE, TELEMETRY__CAT_ERROR, NULL, body(text), 100);
    telemetry__lock(&ob->lock);
    telemetry__outbox_spill(ob, telemetry__monotonic_ms() + 5000);
    telemetry__unlock(&ob->lock);
    CHECK(ob->disk_bytes <= 400);
    CHECK_INT(count_items(ob, TELEMETRY__CAT_USAGE), 0);
    CHECK(count_items(ob, TELEMETRY__CAT_ERROR) >= 2);
    CHECK(ob->usage_dropped == 3);
    telemetry__outbox_release(ob);
    rm_tree(dir);
}

/* The stored envelope gets sent_at when it goes out; drops ride along as a client report. */
static void test_wire_body(void) {
    telemetry__outbox *ob = telemetry__outbox_new();
    telemetry__item it;
    telemetry__buf out;
    int64_t taken[TELEMETRY__DROP_COUNT][TELEMETRY__CAT_COUNT];
    const char *env = "{\"event_id\":\"0123456789abcdef0123456789abcdef\"}\n{\"type\":\"event\",\"length\":2}\n{}\n";
    memset(&it, 0, sizeof it);
    it.kind = TELEMETRY__KIND_ENVELOPE;
    ob->client_reports = 1;
    telemetry__buf_init(&out);
    CHECK_INT(telemetry__wire_body(ob, &it, env, strlen(env), &out, taken), 0);
    CHECK(strncmp(out.data, "{\"sent_at\":\"", 12) == 0);
    CHECK(strstr(out.data, "Z\",\"event_id\":\"0123456789abcdef0123456789abcdef\"}\n{\"type\":\"event\",\"length\":2}\n{}\n") != NULL);
    CHECK(strstr(out.data, "client_report") == NULL);
    telemetry__buf_free(&out);
    ob->dropped[TELEMETRY__DROP_QUEUE][TELEMETRY__CAT_ERROR] = 3;
    ob->dropped[TELEMETRY__DROP_SEND_ERROR][TELEMETRY__CAT_SESSION] = 1;
    telemetry__buf_init(&out);
    CHECK_INT(telemetry__wire_body(ob, &it, "{}\n", 3, &out, taken), 0);
    CHECK(strstr(out.data, "\"}\n{\"type\":\"client_report\",\"length\":") != NULL);
    CHECK(strstr(out.data, "{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":3},"
                           "{\"reason\":\"send_error\",\"category\":\"session\",\"quantity\":1}]}\n") != NULL);
    CHECK(taken[TELEMETRY__DROP_QUEUE][TELEMETRY__CAT_ERROR] == 3);
    telemetry__buf_free(&out);
    ob->client_reports = 0;                                            /* the option to turn them off */
    telemetry__buf_init(&out);
    CHECK_INT(telemetry__wire_body(ob, &it, "{}\n", 3, &out, taken), 0);
    CHECK(strstr(out.data, "client_report") == NULL);
    telemetry__buf_free(&out);
    telemetry__outbox_release(ob);
}

/* Revoking consent deletes every queued payload, in memory and on disk. */
static void test_revoke_purges(void) {
    char *dir = make_temp_dir(), outbox[600];
    telemetry_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_notice = 1;               /* these runs are not about the first-run notice */
    cfg.app_name = "obtest";
    cfg.state_dir = dir;
    cfg.usage_url = "http://127.0.0.1:9/usage.json";
    cfg.retry_initial_ms = 60000;                                       /* keep it queued */
    CHECK_INT(telemetry_init(&cfg), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    CHECK_INT(telemetry_report_usage(), 0);
    telemetry_flush(300);
    snprintf(outbox, sizeof outbox, "%s/outbox", dir);
    CHECK_INT(telemetry_set_consent(0), 0);
    CHECK(count_entries(outbox) <= 0);
    telemetry_shutdown();
    CHECK(count_entries(outbox) <= 0);
    rm_tree(dir);
}

int main(void) {
    unsetenv("DO_NOT_TRACK");
    unsetenv("TELEMETRY_DEBUG");
    test_memory_cap();
    test_spill_and_load();
    test_disk_cap();
    test_wire_body();
    test_revoke_purges();
    return testlib_report("test_outbox");
}

/* Looking up files carried inside the program. */
#include "common/embedded.h"

#include <string.h>

const struct embedded_file *
embedded_find(const struct embedded_file *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0) {
			return &table[i];
		}
	}
	return NULL;
}

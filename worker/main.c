#include <stdio.h>
int main(void) { puts("acteon-worker " AW_VERSION); return 0; }

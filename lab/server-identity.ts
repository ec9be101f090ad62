// What each replica says about itself: @@VERSION and SERVERPROPERTY values for SQL Server 2019 /
// 2022 builds and for a managed instance (which reports 12.0.2000.8 and EngineEdition 8).
import type { CellValue } from './sql/contract.js';
import type { Side } from './model/types.js';

const KNOWN_BUILDS: Record<string, { year: string; cu: string; kb: string; date: string }> = {
  '16.0.4125.3': { year: '2022', cu: 'CU13', kb: 'KB5036432', date: 'May  1 2024 15:05:56' },
  '15.0.4312.2': { year: '2019', cu: 'CU20', kb: 'KB5024276', date: 'Apr  1 2023 12:50:26' },
};

export function serverIdentity(side: Side, serverName: string, sqlVersion: string): {
  versionText: string;
  properties: Record<string, CellValue>;
} {
  if (side === 'managedInstance') {
    return {
      versionText: 'Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tOct 31 2024 11:12:41 \n\tCopyright (C) 2022 Microsoft Corporation\n',
      properties: {
        ServerName: serverName, MachineName: serverName, ProductVersion: '12.0.2000.8', ProductMajorVersion: '12',
        ProductMinorVersion: '0', ProductBuild: '2000', ProductLevel: 'RTM', ProductUpdateLevel: null,
        Edition: 'SQL Azure', EngineEdition: 8, IsHadrEnabled: 1, HadrManagerStatus: 1,
        Collation: 'SQL_Latin1_General_CP1_CI_AS', IsClustered: 0,
      },
    };
  }
  const [major, minor, build] = sqlVersion.split('.');
  const known = KNOWN_BUILDS[sqlVersion];
  const year = known?.year ?? ({ '13': '2016', '14': '2017', '15': '2019', '16': '2022', '17': '2025' } as Record<string, string>)[major] ?? '';
  const level = known ? `RTM-${known.cu}` : 'RTM';
  return {
    versionText:
      `Microsoft SQL Server ${year} (${level})${known ? ` (${known.kb})` : ''} - ${sqlVersion} (X64) \n\t${known?.date ?? 'Jan  1 2024 00:00:00'} \n\t` +
      `Copyright (C) ${year} Microsoft Corporation\n\tEnterprise Edition: Core-based Licensing (64-bit) on Linux (Ubuntu 22.04.4 LTS) <X64>`,
    properties: {
      ServerName: serverName, MachineName: serverName, ProductVersion: sqlVersion, ProductMajorVersion: major,
      ProductMinorVersion: minor, ProductBuild: build, ProductLevel: 'RTM', ProductUpdateLevel: known?.cu ?? null,
      ProductUpdateReference: known?.kb ?? null, Edition: 'Enterprise Edition: Core-based Licensing (64-bit)',
      EngineEdition: 3, IsHadrEnabled: 1, HadrManagerStatus: 1, Collation: 'SQL_Latin1_General_CP1_CI_AS', IsClustered: 0,
    },
  };
}

import { type Kysely, sql } from 'kysely';

// Frozen in time: never import application code here, never edit after release.
//
// Search that finds what people type, for less work per search.
//
// - Accents: "zoe" finds "Zoë" and "muller" "Müller". search_text is now
//   roster_search_fold(first || ' ' || last || ' ' || email): ASCII letters lower-cased,
//   then Latin (with Vietnamese), Greek and Cyrillic letters mapped to their
//   lower-case letter without accents, and ß, æ, œ, þ spelled out. It is a plain
//   translate(), not the unaccent extension, so that it is immutable (a stored
//   column may only use immutable functions), needs no extension and gives the
//   same answer on PostgreSQL and PGlite whatever the database's locale (lower()
//   is told to use the "C" collation, so it never depends on it). Text that is
//   all ASCII skips the translate(). The API folds the search text the same way
//   (packages/api/src/users/fold.ts, tested against this function).
// - The one- and two-letter prefix indexes are on the folded names too.
// - users_org_email, the btree that lists an organization's users in email order,
//   now also carries search_text (users_org_email_search): a search that matches
//   many users checks them in email order from the index alone, never reading
//   the table's rows until it has its page.
// - search_text's statistics keep a sample of 1,001 values (target 1000): the
//   API estimates from it how common a search text is, to choose where to start.

export async function up(db: Kysely<any>): Promise<void> {
  // translate() looks each character up in its list, so the letters go by Unicode block: a block is
  // translated only when the text has a letter of it ("Müller" meets 57 letters, not 801). No letter becomes
  // one of a later block, so this is one translate() of all of them. PL/pgSQL, because a SQL function that
  // uses its argument more than once is not inlined, and calling it per block cost more than the rest.
  await sql`
    create function roster_search_fold(value text) returns text
      language plpgsql immutable strict parallel safe
    as $$
    declare
      folded text := lower(value collate "C");
    begin
      if octet_length(value) = char_length(value) then
        return folded;
      end if;
      if folded ~ '[À-ÿ]' then
        folded := translate(
          folded,
          'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïðñòóôõöøùúûüýÿ',
          'aaaaaaceeeeiiiidnoooooouuuuyaaaaaaceeeeiiiidnoooooouuuuyy'
        );
      end if;
      if folded ~ '[Ā-ſ]' then
        folded := translate(
          folded,
          'ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĲĴĵĶķĸĹĺĻļĽľĿŁłŃńŅņŇňŊŋŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽž',
          'aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiĳjjkkqllllllŀllnnnnnnnnoooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzz'
        );
      end if;
      if folded ~ '[ƀ-ɏ]' then
        folded := translate(
          folded,
          'ƁƂƄƆƇƉƊƋƎƏƐƑƓƔƖƗƘƜƝƟƠơƢƤƦƧƩƬƮƯưƱƲƳƵƷƸƼǄǅǇǈǊǋǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞǟǠǡǢǣǤǦǧǨǩǪǫǬǭǮǯǰǱǲǴǵǶǷǸǹǺǻǼǽǾǿȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕȖȗȘșȚțȜȞȟȠȢȤȦȧȨȩȪȫȬȭȮȯȰȱȲȳȺȻȽȾɁɃɄɅɆɈɊɌɎ',
          'ɓƃƅɔƈɖɗƌǝəɛƒɠɣɩɨƙɯɲɵooƣƥʀƨʃƭʈuuʊʋƴƶʒƹƽǆǆǉǉǌǌaaiioouuuuuuuuuuaaaaææǥggkkooooʒʒjǳǳggƕƿnnaaææøøaaaaeeeeiiiioooorrrruuuussttȝhhƞȣȥaaeeooooooooyyⱥȼƚⱦɂƀʉʌɇɉɋɍɏ'
        );
      end if;
      if folded ~ '[Ͱ-Ͽ]' then
        folded := translate(
          folded,
          'ͰͲʹͶͿΆΈΉΊΌΎΏΐΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫάέήίΰϊϋόύώϏϓϔϘϚϜϞϠϢϤϦϨϪϬϮϴϷϹϺϽϾϿ',
          'ͱͳʹͷϳαεηιουωιαβγδεζηθικλμνξοπρστυφχψωιυαεηιυιυουωϗϒϒϙϛϝϟϡϣϥϧϩϫϭϯθϸϲϻͻͼͽ'
        );
      end if;
      if folded ~ '[Ѐ-ӿ]' then
        folded := translate(
          folded,
          'ЀЁЂЃЄЅІЇЈЉЊЋЌЍЎЏАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯйѐёѓїќѝўѠѢѤѦѨѪѬѮѰѲѴѶѷѸѺѼѾҀҊҌҎҐҒҔҖҘҚҜҞҠҢҤҦҨҪҬҮҰҲҴҶҸҺҼҾӀӁӂӃӅӇӉӋӍӐӑӒӓӔӖӗӘӚӛӜӝӞӟӠӢӣӤӥӦӧӨӪӫӬӭӮӯӰӱӲӳӴӵӶӸӹӺӼӾ',
          'ееђгєѕііјљњћкиуџабвгдежзииклмнопрстуфхцчшщъыьэюяиеегікиуѡѣѥѧѩѫѭѯѱѳѵѵѵѹѻѽѿҁҋҍҏґғҕҗҙқҝҟҡңҥҧҩҫҭүұҳҵҷҹһҽҿӏжжӄӆӈӊӌӎааааӕееәәәжжззӡииииооөөөээууууууччӷыыӻӽӿ'
        );
      end if;
      if folded ~ '[Ḁ-ỿ]' then
        folded := translate(
          folded,
          'ḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹỺỼỾ',
          'aabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzzzzhtwyſaaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyyỻỽỿ'
        );
      end if;
      return replace(replace(replace(replace(replace(replace(replace(replace(folded, 'Æ', 'ae'), 'Þ', 'th'), 'ß', 'ss'), 'æ', 'ae'), 'þ', 'th'), 'Œ', 'oe'), 'œ', 'oe'), 'ẞ', 'ss');
    end
    $$
  `.execute(db);
  await sql`drop index users_search_text_trgm`.execute(db);
  await sql`alter table users drop column search_text`.execute(db);
  await sql`
    alter table users add column search_text text not null
      generated always as (roster_search_fold(first_name || ' ' || last_name || ' ' || email)) stored
  `.execute(db);
  await sql`create index users_search_text_trgm on users using gin (search_text gin_trgm_ops)`.execute(db);
  await sql`alter table users alter column search_text set statistics 1000`.execute(db);
  await sql`create index users_org_email_search on users (organization_id, email, id) include (search_text)`.execute(
    db,
  );
  await sql`drop index users_org_email`.execute(db);
  await sql`drop index users_first_name_prefix`.execute(db);
  await sql`drop index users_last_name_prefix`.execute(db);
  await sql`create index users_first_name_prefix on users (roster_search_fold(first_name) text_pattern_ops)`.execute(
    db,
  );
  await sql`create index users_last_name_prefix on users (roster_search_fold(last_name) text_pattern_ops)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index users_first_name_prefix`.execute(db);
  await sql`drop index users_last_name_prefix`.execute(db);
  await sql`create index users_first_name_prefix on users (lower(first_name) text_pattern_ops)`.execute(db);
  await sql`create index users_last_name_prefix on users (lower(last_name) text_pattern_ops)`.execute(db);
  await sql`create index users_org_email on users (organization_id, email, id)`.execute(db);
  await sql`drop index users_org_email_search`.execute(db);
  await sql`drop index users_search_text_trgm`.execute(db);
  await sql`alter table users drop column search_text`.execute(db);
  await sql`
    alter table users add column search_text text not null
      generated always as (lower(first_name || ' ' || last_name || ' ' || email)) stored
  `.execute(db);
  await sql`create index users_search_text_trgm on users using gin (search_text gin_trgm_ops)`.execute(db);
  await sql`drop function roster_search_fold(text)`.execute(db);
}
